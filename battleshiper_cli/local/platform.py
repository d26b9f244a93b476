"""`battleshiper local up`: the whole platform on this machine, assembled from the synthesized templates.

moto (server mode, loopback) holds the AWS state; `aws.provision` creates the template's resources in it.
The same handlers then run here: the API functions in process behind the local edge, the pipeline
functions as targets of the template's rules on the local bus, builds in the local build runner, project
stacks through the local stack provisioner, project server functions in Node.js workers. State lives in
memory for the life of the process; the data folder keeps the git repositories and work files.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battleshiper_cli.local import aws as local_aws
from battleshiper_cli.local import sample
from battleshiper_cli.local.aws import ACCOUNT, REGION, MotoServer
from battleshiper_cli.local.batch import LocalBatch
from battleshiper_cli.local.bus import LocalBus, LocalRule
from battleshiper_cli.local.control import STATE_FILE, ControlServer, RouteStoreApi
from battleshiper_cli.local.dashboard import dashboard_server
from battleshiper_cli.local.edge import EdgeFunctions, LocalEdge, SyncedRouteStore
from battleshiper_cli.local.errors import check_node, check_port
from battleshiper_cli.local.functions import ProjectFunctions
from battleshiper_cli.local.git_host import LocalGitHub
from battleshiper_cli.local.iam.enforce import Recorder
from battleshiper_cli.local.stacks import LocalStacks
from battleshiper_cli.local.wiring import LocalLambda, Wiring, role_lookup
from lambdas.shared import names, sessions
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler
from lambdas.shared.models import Limits, Role, Subscription, User
from lambdas.shared.names import Env, Names
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store
from templates import ids
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from templates.project import build_project_template

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "localhost"
LOGIN = "local"
PLACEHOLDER_SERVER = ROOT / "web" / "placeholder" / "project-server" / names.SERVER_HANDLER_FILE
SUBSCRIPTION = "local"
SAMPLE_PROJECT = "sample"


@dataclass
class LocalContext:
    """What Lambda hands a handler as `context`, as far as our handlers read it."""

    function_name: str
    aws_request_id: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _deliver(handler: Handler, context: LocalContext, event: dict[str, Any]) -> None:
    """A rule target: the function's handler with its Lambda context."""
    handler(event, context)


def _api_call(
    handler: Handler, context: LocalContext, event: dict[str, Any], _context: Any
) -> dict[str, Any]:
    return dict(handler(event, context))


class LocalPlatform:
    def __init__(
        self,
        port: int,
        data_dir: Path,
        stack: str = names.DEFAULT_STACK_NAME,
        log: Callable[[str], None] = print,
    ) -> None:
        self.port = port
        self.data = data_dir.resolve()
        self.names = Names(stack)
        self.log = log
        self._closers: list[Callable[[], None]] = []

    @property
    def url(self) -> str:
        return f"http://{DOMAIN}:{self.port}"

    def project_url(self, project: str) -> str:
        return f"http://{project}.{DOMAIN}:{self.port}"

    # --- start ----------------------------------------------------------------------------------------

    def start(self) -> LocalPlatform:
        check_node()
        check_port(self.port)
        for folder in ("git", "functions", "builds"):
            (self.data / folder).mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return self

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self.aws = MotoServer().start()
        self._closers.append(self.aws.stop)
        self.secrets = Secrets(Clients(self.aws.session(), self.aws.endpoint))  # the platform's own reads
        config = PlatformConfig(stack_name=self.names.stack, artifacts=placeholder_artifacts())
        self.template = json.loads(build_platform_template(config).to_json())
        s3 = self.aws.client("s3")

        # What `battleshiper setup` puts in place before the stack: artifacts, the GitHub App secret.
        artifacts = self.names.artifacts_bucket(ACCOUNT, REGION)
        s3.create_bucket(Bucket=artifacts)
        s3.put_object(
            Bucket=artifacts,
            Key=config.artifact("project-template").key,
            Body=build_project_template(config).to_json().encode(),
        )
        s3.put_object(
            Bucket=artifacts,
            Key=config.artifact("project-server").key,
            Body=_zip({names.SERVER_HANDLER_FILE: PLACEHOLDER_SERVER.read_bytes()}),
        )
        self.github = LocalGitHub(
            self.data / "git",
            LOGIN,
            webhook=self._send_webhook,
            viewer=lambda url: self.edge.outbound_location(url),
        )
        github_secret = self.aws.client("secretsmanager").create_secret(
            Name=f"{self.names.stack}/github-app", SecretString=json.dumps(self.github.secret())
        )["ARN"]
        parameters = {
            "Domain": DOMAIN,
            "AdminGitHubUser": LOGIN,
            "ArtifactsBucket": artifacts,
            "GitHubSecretArn": github_secret,
            "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/local",
            "WildcardCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/local-wildcard",
            "BuildSubnetZones": f"{REGION}a,{REGION}b",  # builds run in the local runner, not in subnets
        }
        self.resolver = local_aws.provision(self.aws, self.template, parameters, self.names.stack)
        self.recorder = Recorder()
        self.routes = SyncedRouteStore()
        store_arn = self.resolver.get_att("RouteStore", "Arn")
        route_api = RouteStoreApi(self.routes, self.names.route_store, store_arn)
        self.wiring = Wiring(
            self.template,
            self.resolver,
            endpoint_url=self.aws.endpoint,
            recorder=self.recorder,
            log=self.log,
            lookups={("iam", "*"): role_lookup(self.aws.client("iam"))},
            # Build specs clone from the local repositories; sign-in and the App's API reach the stand-in.
            extra_env={
                "": {Env.GITHUB_URL: self.github.clone_base(), Env.GITHUB_API_URL: self.github.url},
                "lambdas.api.auth.handler": {Env.GITHUB_URL: self.github.url},
            },
        )
        self.bus = LocalBus(self.aws.client("events"), log=self.log)
        self._closers.append(self.bus.close)
        self.batch = LocalBatch(self.aws, self.bus, self.data / "builds", log=self.log)
        self._closers.append(self.batch.close)
        # CloudFormation creates project stacks with the platform's service role, enforced here too.
        stack_role = self.wiring.clients(self.wiring.role(ids.PROJECT_STACK_ROLE, "cloudformation"))
        self.stacks = LocalStacks(stack_role, self.bus, self.batch, self.aws.client("s3"), log=self.log)
        self.project_functions = ProjectFunctions(self.aws.client("lambda"), self.data / "functions")
        self._closers.append(self.project_functions.close)
        self.wiring.stand_ins.update({
            "events": self.bus,
            "cloudformation": self.stacks,
            "cloudfront-keyvaluestore": route_api,
            "lambda": LocalLambda(self.aws.client("lambda"), self.project_functions.invoke),
        })
        self.github.start()
        self._closers.append(self.github.stop)

        self._wire_rules()
        api = self._wire_api()
        router = self.wiring.by_handler("lambdas.router.handler.handler")
        self.edge_functions = EdgeFunctions(
            self.resolver.get_att("RouteStore", "Id"), DOMAIN, self.routes.data
        )
        self._closers.append(self.edge_functions.close)
        self.routes.edge = self.edge_functions
        dashboard = self._dashboard()
        self.edge = LocalEdge(
            port=self.port,
            domain=DOMAIN,
            functions=self.edge_functions,
            router=self.wiring.handler(router.logical_id),
            s3=s3,
            project_bucket=router.environment[Env.PROJECT_BUCKET],
            origin_secret=self.secrets.string(router.environment[Env.ORIGIN_SECRET_ARN]),
            api=api,
            dashboard=dashboard,
        )
        self.edge.start()
        self._closers.append(self.edge.stop)
        self._seed_user()
        self._start_control(parameters)

    def _start_control(self, parameters: dict[str, str]) -> None:
        """The platform stack's record and the control endpoint operator commands use (`--local`)."""
        outputs = {
            key: str(self.resolver.resolve(output["Value"]))
            for key, output in self.template.get("Outputs", {}).items()
        }
        # The local edge stands in for both distributions.
        outputs[ids.OUTPUT_DASHBOARD_URL] = self.url
        for host in (ids.OUTPUT_DASHBOARD_CDN_HOST, ids.OUTPUT_PROJECT_CDN_HOST):
            outputs[host] = f"{DOMAIN}:{self.port}"
        self.stacks.add_platform_stack(self.names.stack, self.template, parameters, outputs)
        routes = self.wiring.stand_ins["cloudfront-keyvaluestore"]
        self.control = ControlServer(
            {
                "cloudformation": self.stacks,
                "events": self.bus,
                "cloudfront": routes.control_plane(),
                "cloudfront-keyvaluestore": routes,
            }
        ).start()
        self._closers.append(self.control.stop)

    def _dashboard(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        serve, close = dashboard_server(self.data / "functions" / "dashboard")
        self._closers.append(close)
        return serve

    def _wire_rules(self) -> None:
        """Each rule of the template, with its own pattern, to the function its target names."""
        for rule in local_aws.rules(self.template, self.resolver):
            for target in rule["targets"]:
                logical = target["Arn"]["Fn::GetAtt"][0]
                handler = self.wiring.handler(logical)
                context = LocalContext(self.wiring.function(logical).name)
                deliver = functools.partial(_deliver, handler, context)
                self.bus.add_rule(LocalRule(rule["name"], rule["bus"], rule["pattern"], deliver))

    def _wire_api(self) -> dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]:
        """`/api/<route>/...` -> the handler of the function the template's HTTP API routes it to."""
        resources = self.template["Resources"]
        handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
        for route in (r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"):
            key = route["Properties"]["RouteKey"]
            if not key.startswith("ANY /api/"):
                continue
            integration = resources[route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]]
            logical = integration["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
            context = LocalContext(self.wiring.function(logical).name)
            handlers[key.split("/")[2]] = functools.partial(_api_call, self.wiring.handler(logical), context)
        return handlers

    @functools.cached_property
    def store(self) -> Store:
        env = self.wiring.by_handler("lambdas.api.resource.handler").environment
        return Store(self.aws.resource("dynamodb"), env)

    def _seed_user(self) -> None:
        """The local user exists before the first sign-in, with a subscription and every role, so a
        newcomer can create projects at once (in AWS an administrator grants these)."""
        store = self.store
        store.subscriptions.put(
            Subscription(
                id=SUBSCRIPTION,
                name="Local",
                limits=Limits(project_count=20, alias_count=20, daily_builds=1000),
            )
        )
        store.users.put(
            User(
                id=str(self.github.account.id),
                login=LOGIN,
                name=LOGIN,
                roles=list(Role),
                subscription_id=SUBSCRIPTION,
                installation_id=self.github.installation.id,
            )
        )

    def _send_webhook(self, headers: dict[str, str], body: bytes) -> None:
        """GitHub delivers to the App's webhook URL, `https://<domain>/api/pipeline/event`."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/pipeline/event",
            data=body,
            method="POST",
            headers={**headers, "host": DOMAIN},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            self.log(f"push webhook: {response.read().decode()[:200]}")

    # --- a session for the local user (sample project, operator commands) ------------------------------

    def session_cookie(self) -> str:
        user = self.store.users.get(id=str(self.github.account.id))
        assert user is not None
        arn = self.wiring.by_handler("lambdas.api.resource.handler").environment[Env.SESSION_KEY_SECRET_ARN]
        token = sessions.issue_session(
            self.secrets.signing_key(arn), domain=DOMAIN, user_id=user.id, version=user.session_version
        )
        return f"{names.SESSION_COOKIE}={token}"

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={
                "host": DOMAIN,
                "origin": self.url,
                "cookie": self.session_cookie(),
                "content-type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    # --- the sample project ----------------------------------------------------------------------------

    def project(self, name: str) -> dict[str, Any] | None:
        status, answer = self.api("GET", "/api/resource/listproject")
        found = [p for p in (answer or {}).get("projects", []) if p["name"] == name] if status == 200 else []
        return found[0] if found else None

    def create_sample(self, name: str = SAMPLE_PROJECT, timeout: float = 900) -> str:
        """Create the sample project, let the pipeline build and deploy it; its URL once it answers."""
        return sample.create(self, name, timeout)

    # --- state and stop --------------------------------------------------------------------------------

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "port": self.port,
            "url": self.url,
            "moto": self.aws.endpoint,
            "control": self.control.url,
            "stack": self.names.stack,
            "domain": DOMAIN,
            "github_url": self.github.clone_base(),
            "github_api_url": self.github.url,
            "data_dir": str(self.data),
            "started": int(time.time()),
        }
        (self.data / STATE_FILE).write_text(json.dumps(state))

    def stop(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception as err:
                self.log(f"stopping: {err!r}")
        self._closers.clear()
        (self.data / STATE_FILE).unlink(missing_ok=True)

    def wait(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            pass
