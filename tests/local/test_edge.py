"""The local edge as `make local` serves it, without the rest of the platform: the real CloudFront Function
code (Node), the route store it mirrors, the project bucket in moto, the router and a project function in
Node. What a viewer meets: the deployment's files from the bucket, everything else from the deployment's
own function version, and no forged forwarding header reaching an app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.aws import free_port
from battleshiper_cli.local.edge import LocalEdge
from battleshiper_cli.local.edge_functions import EdgeFunctions, SyncedRouteStore
from battleshiper_cli.local.node import NodeInvoker
from battleshiper_cli.local.throttle import StageThrottle
from lambdas.router import invoker as inv
from lambdas.router.pages import S3Pages
from lambdas.router.router import Router
from lambdas.shared import names

DOMAIN = "localhost"
SITE = f"shop.{DOMAIN}"
SECRET = "local-origin-secret-0123456789"
BUCKET = "projects"
PREFIX = "bs-srv-"
DEP = "20261128T134700-3f9a1c"
NEXT = "20261128T140000-0b1c2d"
ECHO = ("export const handler = async (event) => ({ statusCode: 200, headers: {'content-type': "
        "'application/json'}, body: JSON.stringify({ path: event.rawPath, headers: event.headers }) });")
FILES = {
    f"shop/{DEP}/data.json": b'{"from":"bucket"}',
    f"shop/{DEP}/caf\u00e9.html": "<h1>Caf\u00e9</h1>".encode(),
    f"shop/{DEP}/about.html": b"<h1>About one</h1>",
    f"shop/{NEXT}/about.html": b"<h1>About two</h1>",
    f"shop/{DEP}/_app/immutable/entry/app.A1.js": b"console.log(1)",
}
ROUTES = {
    names.alias_key("shop"): "shop",
    names.live_key("shop"): DEP,
    names.page_key("shop", DEP, "/data.json"): "/data.json",
    names.page_key("shop", DEP, "/caf\u00e9"): "/caf\u00e9.html",
    names.page_key("shop", DEP, "/about"): "/about.html",
    names.page_key("shop", NEXT, "/about"): "/about.html",
}


class Aliases:
    """The project function as Lambda holds it: one version per deployment, each behind its alias."""

    def __init__(self, nodes: NodeInvoker, deployments: set[str]) -> None:
        self.nodes, self.aliases, self.calls = nodes, {names.deployment_alias(d) for d in deployments}, []

    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        self.calls.append(qualifier)
        if qualifier not in self.aliases:
            raise inv.DeploymentNotFound(qualifier)
        return self.nodes.invoke(function, qualifier, payload)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeInvoker]:
    module: Path = tmp_path_factory.mktemp("function") / "echo.mjs"
    module.write_text(ECHO)
    invoker = NodeInvoker({PREFIX + "shop": module}, timeout=10)
    yield invoker
    invoker.close()


@pytest.fixture
def site(nodes: NodeInvoker) -> Iterator[tuple[LocalEdge, Aliases, SyncedRouteStore, list[dict[str, Any]]]]:
    with pytest.MonkeyPatch.context() as env, mock_aws():
        env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        s3 = boto3.client("s3", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        for key, body in FILES.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        store = SyncedRouteStore()
        store.write(store.etag(), ROUTES, [])
        functions = EdgeFunctions("0f0e0d0c-1111-4222-8333-444455556666", DOMAIN, store.data)
        store.edge = functions
        aliases = Aliases(nodes, {DEP, NEXT})
        router = Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=aliases,
                        function_prefix=PREFIX)
        dashboard_events: list[dict[str, Any]] = []

        def dashboard(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            dashboard_events.append(event)
            return {"statusCode": 200, "headers": {}, "body": "dashboard"}

        edge = LocalEdge(port=free_port(), domain=DOMAIN, functions=functions, router=router.handle, s3=s3,
                         project_bucket=BUCKET, origin_secret=SECRET, api={}, dashboard=dashboard)
        try:
            yield edge, aliases, store, dashboard_events
        finally:
            edge.server.server_close()
            functions.close()


def get(edge: LocalEdge, path: str, host: str = SITE, **headers: str) -> tuple[int, bytes]:
    status, _headers, body = edge.handle("GET", path, [("host", f"{host}:8080"), *headers.items()], b"")
    return status, body


def test_a_file_of_the_deployment_comes_from_the_bucket(site: Any) -> None:
    edge, aliases, _, _ = site
    assert get(edge, "/data.json") == (200, b'{"from":"bucket"}')
    assert get(edge, "/_app/immutable/entry/app.A1.js") == (200, b"console.log(1)")
    assert aliases.calls == []


@pytest.mark.parametrize("path", ["/u/john.doe", "/v1.2/x", "/og.png", "/data.json/x"])
def test_a_dotted_route_reaches_the_deployments_server(site: Any, path: str) -> None:
    edge, aliases, _, _ = site
    status, body = get(edge, path)
    assert status == 200 and json.loads(body)["path"] == path
    assert aliases.calls == [names.deployment_alias(DEP)]


@pytest.mark.parametrize("path", ["/caf%C3%A9", "/caf%c3%a9.html", "/caf%C3%A9/"])
def test_an_encoded_path_finds_its_prerendered_page(site: Any, path: str) -> None:
    edge, _, _, _ = site
    assert get(edge, path) == (200, "<h1>Caf\u00e9</h1>".encode())


def test_during_a_switch_pages_and_server_follow_the_deployment_the_edge_resolved(site: Any) -> None:
    edge, aliases, store, _ = site
    assert get(edge, "/about") == (200, b"<h1>About one</h1>")
    get(edge, "/cart")
    store.write(store.etag(), {names.live_key("shop"): NEXT}, [])
    assert get(edge, "/about") == (200, b"<h1>About two</h1>")
    get(edge, "/cart")
    assert aliases.calls == [names.deployment_alias(DEP), names.deployment_alias(NEXT)]


def test_a_deployment_whose_version_is_gone_answers_retry_later(site: Any) -> None:
    edge, aliases, _, _ = site
    aliases.aliases = set()  # the route store is ahead of the deploy
    status, headers, body = edge.handle("GET", "/cart", [("host", SITE)], b"")
    assert status == 503 and ("retry-after", "5") in headers
    assert b"being updated" in body


def test_a_viewers_forwarded_proto_and_host_never_reach_the_app(site: Any) -> None:
    edge, _, _, _ = site
    status, body = get(edge, "/cart", **{"x-forwarded-proto": "http", "x-forwarded-host": "evil.example"})
    received = json.loads(body)["headers"]
    assert status == 200
    assert received["x-forwarded-proto"] == "https"
    assert received[names.FORWARDED_HOST_HEADER] == SITE


def test_the_dashboard_gets_its_own_forwarded_host_behind_the_origin_secret(site: Any) -> None:
    edge, _, _, events = site
    assert get(edge, "/profile", host=DOMAIN, **{"x-forwarded-host": "evil.example"}) == (200, b"dashboard")
    headers = events[-1]["headers"]
    assert headers[names.FORWARDED_HOST_HEADER] == DOMAIN
    assert headers[names.ORIGIN_SECRET_HEADER] == SECRET


def test_a_flood_on_one_stage_is_throttled_as_api_gateway_throttles_it(site: Any) -> None:
    edge, aliases, _, dashboard_events = site
    edge.router_throttle = StageThrottle(rate=0.001, burst=3)
    edge.api_throttle = StageThrottle(rate=0.001, burst=3)
    answers = [edge.handle("GET", "/cart", [("host", SITE)], b"") for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    assert json.loads(answers[-1][2]) == {"message": "Too Many Requests"}
    assert len(aliases.calls) == 3  # the throttled ones never reached the function
    # Files from the bucket are CloudFront's, not the router's: not throttled by its stage.
    assert get(edge, "/data.json")[0] == 200
    # The platform API has its own stage: the flood on the router leaves it answering.
    assert get(edge, "/", host=DOMAIN) == (200, b"dashboard") and len(dashboard_events) == 1
