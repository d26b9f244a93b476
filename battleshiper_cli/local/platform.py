"""`battleshiper local up`: the whole platform on this machine, assembled from the synthesized templates.

moto (server mode, loopback) holds the AWS state; `aws.provision` creates the template's resources in it.
The same handlers then run here: the API functions in process behind the local edge, the pipeline
functions as targets of the template's rules on the local bus, builds in the local build runner, project
stacks through the local stack provisioner, project server functions in Node.js workers. State lives in
memory for the life of the process; the data folder keeps the git repositories and work files.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battleshiper_cli.local import aws as local_aws
from battleshiper_cli.local import sample, seed, triggers
from battleshiper_cli.local.aws import MotoServer
from battleshiper_cli.local.batch import LocalBatch
from battleshiper_cli.local.bus import LocalBus
from battleshiper_cli.local.control import STATE_FILE, ControlServer, RouteStoreApi
from battleshiper_cli.local.dashboard import dashboard_server
from battleshiper_cli.local.edge import LocalEdge
from battleshiper_cli.local.edge_functions import EdgeFunctions, SyncedRouteStore
from battleshiper_cli.local.errors import check_node, check_port
from battleshiper_cli.local.function_kms import FunctionKms
from battleshiper_cli.local.functions import ProjectFunctions
from battleshiper_cli.local.git_host import LocalGitHub
from battleshiper_cli.local.iam.enforce import Principal, Recorder
from battleshiper_cli.local.iam.roles import iam_principal, managed_policies
from battleshiper_cli.local.seed import DOMAIN, LOGIN, SAMPLE_PROJECT
from battleshiper_cli.local.stacks import LocalStacks
from battleshiper_cli.local.wiring import LocalLambda, Wiring, role_lookup
from lambdas.shared import names
from lambdas.shared.aws import Clients
from lambdas.shared.names import Env, Names
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store
from templates import ids
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template


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
        self.github = LocalGitHub(
            self.data / "git",
            LOGIN,
            webhook=self._send_webhook,
            viewer=lambda url: self.edge.outbound_location(url),
        )
        parameters = seed.before_stack(self.aws, self.names, config, self.github)
        self.resolver = local_aws.provision(self.aws, self.template, parameters, self.names.stack)
        self._wire_functions()
        self._start_stand_ins()
        triggers.wire_rules(self.wiring, self.template, self.resolver, self.bus)
        self._start_edge()
        seed.local_user(self.store, self.github, self.aws.client("kms"), self.names.token_key_alias)
        self._start_control(parameters)

    def _wire_functions(self) -> None:
        """The template's functions, each with its role enforced (the recorder keeps every check)."""
        self.recorder = Recorder()
        self.routes = SyncedRouteStore()
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

    def _function_principal(self, function: str) -> Principal:
        """The role a project function runs with, as its stack made it in IAM, under the boundary."""
        role = self.aws.client("lambda").get_function_configuration(FunctionName=function)["Role"]
        boundaries = managed_policies(self.wiring.template, self.wiring.resolver)
        return iam_principal(self.aws.client("iam"), role, function, boundaries, local_aws.ACCOUNT)

    def _start_stand_ins(self) -> None:
        """What moto does not run: the event bus, Batch, CloudFormation, project server functions, GitHub."""
        self.bus = LocalBus(self.aws.client("events"), log=self.log)
        self._closers.append(self.bus.close)
        self.batch = LocalBatch(self.aws, self.bus, self.data / "builds", log=self.log)
        self._closers.append(self.batch.close)
        # CloudFormation creates project stacks with the platform's service role, enforced here too.
        stack_role = self.wiring.clients(self.wiring.role(ids.PROJECT_STACK_ROLE, "cloudformation"))
        self.stacks = LocalStacks(stack_role, self.bus, self.batch, self.aws.client("s3"), log=self.log)
        self.function_kms = FunctionKms(self._function_principal, self.wiring.clients)
        self._closers.append(self.function_kms.close)
        self.project_functions = ProjectFunctions(self.aws.client("lambda"), self.data / "functions",
                                                  env={"AWS_REGION": local_aws.REGION}, kms=self.function_kms)
        self._closers.append(self.project_functions.close)
        self.wiring.stand_ins.update({
            "events": self.bus,
            "cloudformation": self.stacks,
            "cloudfront-keyvaluestore": RouteStoreApi(
                self.routes, self.names.route_store, self.resolver.get_att("RouteStore", "Arn")
            ),
            "lambda": LocalLambda(self.aws.client("lambda"), self.project_functions.invoke),
        })
        self.github.start()
        self._closers.append(self.github.stop)

    def _start_edge(self) -> None:
        """CloudFront stand-in: its functions over the route store, the router, the API, the dashboard."""
        router = self.wiring.by_handler("lambdas.router.handler.handler")
        self.edge_functions = EdgeFunctions(
            self.resolver.get_att("RouteStore", "Id"), DOMAIN, self.routes.data
        )
        self._closers.append(self.edge_functions.close)
        self.routes.edge = self.edge_functions
        origin_secret = self.secrets.string(router.environment[Env.ORIGIN_SECRET_ARN])
        dashboard = self._dashboard(origin_secret)
        throttles = local_aws.stage_throttles(self.template, self.resolver)
        self.edge = LocalEdge(
            port=self.port,
            domain=DOMAIN,
            functions=self.edge_functions,
            router=self.wiring.handler(router.logical_id),
            s3=self.aws.client("s3"),
            project_bucket=router.environment[Env.PROJECT_BUCKET],
            origin_secret=origin_secret,
            api=triggers.api_handlers(self.wiring, self.template),
            dashboard=dashboard,
            api_throttle=throttles.get(ids.API),
            router_throttle=throttles.get(ids.ROUTER_API),
        )
        self.edge.start()
        self._closers.append(self.edge.stop)

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

    def _dashboard(self, origin_secret: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        serve, close = dashboard_server(self.data / "functions" / "dashboard", origin_secret)
        self._closers.append(close)
        return serve

    @functools.cached_property
    def store(self) -> Store:
        env = self.wiring.by_handler("lambdas.api.resource.handler").environment
        return Store(self.aws.resource("dynamodb"), env)

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
        env = self.wiring.by_handler("lambdas.api.resource.handler").environment
        return seed.session_cookie(self.store, self.secrets, env[Env.SESSION_KEY_SECRET_ARN], self.github)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        return seed.api(self.port, self.session_cookie(), method, path, body)

    def project(self, name: str) -> dict[str, Any] | None:
        return seed.project(self.port, self.session_cookie(), name)

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
