"""End-to-end: the built dashboard in headless Chromium against the API handlers served locally (moto behind
them, the GitHub stand-in for GitHub). The local server plays the CDN: static paths from the build output,
`/api/*` to the Python handlers as payload 2.0 events, everything else to the dashboard function in Node.
Screenshots go to web/dashboard/test-results/screenshots/."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli import packaging
from battleshiper_cli.local.github import GitHubStandIn, Repo
from battleshiper_cli.local.node import NodeInvoker, extract_handler
from lambdas.shared import names
from lambdas.shared.models import Deployment, DeploymentStatus, Limits, ProjectStatus, Role, Subscription
from lambdas.shared.names import Env
from lambdas.shared.store import Store
from tests.support.browser import chromium_env
from tests.support.events import DOMAIN, http_event
from tests.support.platform import ADMIN, provision

STACK = "battleshiper"
SCRIPT = packaging.DASHBOARD / "e2e" / "browser.mjs"  # beside node_modules, where playwright-core resolves
SHOTS = packaging.DASHBOARD / "test-results" / "screenshots"
ROUTES = ("auth", "user", "resource", "admin")
STATIC = ("/_app/", "/favicon.", "/robots.txt")
OLD = "20260101T000000-aaaaaa"
NEW = "20260102T000000-bbbbbb"



class Platform:
    def __init__(self, output: Path, invoker: NodeInvoker, store: Store, origin_secret: str,
                 handlers: dict[str, Any]) -> None:
        self.output, self.invoker, self.store = output, invoker, store
        self.origin_secret, self.handlers = origin_secret, handlers
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> dict[str, Any]:
        if method == "GET" and (path == "/" or path.startswith(STATIC)):
            file = self.output / ("prerendered/index.html" if path == "/" else f"client{path}")
            if not file.is_file():
                return {"statusCode": 404, "body": "not found"}
            kind = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                    ".svg": "image/svg+xml", ".json": "application/json"}.get(file.suffix, "text/plain")
            return {"statusCode": 200, "headers": {"content-type": kind}, "body": file.read_text()}
        cookies = dict(c.strip().split("=", 1) for c in headers.get("cookie", "").split(";") if "=" in c)
        forwarded = {names.ORIGIN_SECRET_HEADER: self.origin_secret, "x-forwarded-host": DOMAIN}
        event = http_event(method, path, body=body.decode() if body else None, cookies=cookies,
                           headers=forwarded, origin=headers.get("origin"))
        event["rawQueryString"] = query
        if query:
            event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path.startswith("/api/"):
            result: dict[str, Any] = self.handlers[path.split("/")[2]](event, None)
            return result
        return json.loads(self.invoker.invoke("dashboard", "live", json.dumps(event).encode()))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                r = platform.answer(self.command, path, query, headers, body)
                data = r.get("body", "") or ""
                raw = io.BytesIO(data.encode() if isinstance(data, str) else data).getvalue()
                self.send_response(r["statusCode"])
                for k, v in (r.get("headers") or {}).items():
                    if k.lower() != "content-length":  # set below, for the body as sent
                        self.send_header(k, v)
                for cookie in r.get("cookies") or []:
                    self.send_header("set-cookie", cookie)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.invoker.close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, GitHubStandIn]]:
    output = packaging.build_dashboard(packaging.dashboard_inputs())
    module = extract_handler(output / names.BUILD_SERVER_ZIP, tmp_path_factory.mktemp("dashboard"))
    github = GitHubStandIn().start()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                     "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            mp.setenv(k, v)
        with mock_aws():
            # The API functions as Lambda runs them (template environment and roles, IAM enforced).
            test_platform = provision(
                github_secret=github.secret(),
                extra_env={"": {Env.GITHUB_URL: github.url, Env.GITHUB_API_URL: github.url}},
            )
            store = test_platform.store()
            store.subscriptions.put(Subscription(id="basic", name="Basic", limits=Limits(project_count=3)))
            handlers = {route: test_platform.handler(f"lambdas.api.{route}.handler") for route in ROUTES}
            local = Platform(output, NodeInvoker({"dashboard": module}), store,
                             test_platform.secret(Env.ORIGIN_SECRET_ARN), handlers)
            yield local, github
            local.stop()
    github.stop()


def go_live(store: Store, project_name: str) -> None:
    """What the pipeline would do: a function with a live alias, two kept deployments, the newer live."""
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.mjs", "export const handler = async () => ({});")
    lam = boto3.client("lambda")
    function = names.Names(STACK).project_function(project_name)
    lam.create_function(FunctionName=function, Runtime="nodejs22.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": code.getvalue()})
    versions = [lam.publish_version(FunctionName=function)["Version"] for _ in range(2)]
    lam.create_alias(FunctionName=function, Name=names.LIVE_ALIAS, FunctionVersion=versions[1])
    for deployment_id, version, status in ((OLD, versions[0], DeploymentStatus.READY),
                                           (NEW, versions[1], DeploymentStatus.LIVE)):
        store.deployments.put(Deployment(project_name=project_name, deployment_id=deployment_id,
                                         function_version=version, status=status, commit="abcdef1"))
    store.projects.update({"name": project_name},
                          {"status": ProjectStatus.LIVE.value, "live_deployment": NEW})


def run_browser(platform: Platform, github: GitHubStandIn, scenario: str, on_line: Any = None) -> None:
    shutil.rmtree(SHOTS / scenario, ignore_errors=True)  # only this run's screenshots
    process = subprocess.Popen(["node", str(SCRIPT), platform.url, DOMAIN, str(SHOTS / scenario), scenario,
                                github.url],
                               cwd=packaging.DASHBOARD, env=chromium_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        out.append(line)
        if on_line:
            on_line(line.strip())
        assert time.monotonic() < deadline
    process.wait(timeout=30)
    assert process.returncode == 0, "".join(out) + (process.stderr.read() if process.stderr else "")
    assert out[-1].strip() == "OK"


def test_a_user_signs_in_creates_a_project_watches_it_go_live_rolls_back_and_redeploys(
    platform: tuple[Platform, GitHubStandIn],
) -> None:
    local, github = platform
    alice = github.add_account(1001, "alice")
    github.install(501, alice, [Repo(7001, "shop", "alice"), Repo(7002, "blog", "alice")])
    github.signed_in = alice
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "CREATED":
            go_live(local.store, "shop")

    original = local.handlers["auth"]

    def grant(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        result: dict[str, Any] = original(event, ctx)
        found = local.store.users.get(id="1001")
        if found and not found.subscription_id:
            local.store.users.update({"id": "1001"}, {"subscription_id": "basic"})
        return result

    local.handlers["auth"] = grant
    try:
        run_browser(local, github, "user", on_line)
    finally:
        local.handlers["auth"] = original
    project = local.store.projects.get(name="shop")
    assert project is not None and project.live_deployment == OLD
    # "Redeploy" rebuilt the live commit with the changed environment.
    rebuilt = [d for d in local.store.deployments.query(project_name="shop")
               if d.deployment_id not in (OLD, NEW)]
    assert [(d.commit, d.env_revision) for d in rebuilt] == [("abcdef1", project.env_revision)]
    assert project.env_revision > 0
    assert "CREATED" in seen
    assert (SHOTS / "user" / "project-live.png").is_file()


def test_an_administrator_sees_the_admin_pages(platform: tuple[Platform, GitHubStandIn]) -> None:
    local, github = platform
    admin_account = github.add_account(int(ADMIN), "TheAdmin")  # the id setup resolved
    github.signed_in = admin_account
    run_browser(local, github, "admin")
    found = local.store.users.get(id=ADMIN)
    assert found is not None and Role.ROLE_MANAGER in found.roles
    granted = local.store.users.get(id="1001")
    assert granted is not None and Role.SUPPORT in granted.roles
    assert (SHOTS / "admin" / "admin.png").is_file()
