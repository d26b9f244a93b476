"""The router: only requests with the CDN's secret; pages from the deployment's prefix in the bucket (moto);
everything else to the project's function (small handlers run in Node by the local invoker), the event and
the answer passed through intact, failures as short error pages with the right status."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.node import NodeInvoker
from lambdas.router import handler as router_handler
from lambdas.router import invoker as inv
from lambdas.router.pages import S3Pages
from lambdas.router.router import Router
from lambdas.shared import names
from lambdas.shared.names import Env

SECRET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZab"
PREFIX = "bs-srv-"
BUCKET = "projects"
DEP = "20261128T134700-3f9a1c"  # the live deployment the edge resolved
NEXT = "20261128T140000-0b1c2d"

# Handlers standing in for project functions; each echoes or misbehaves in one way.
HANDLERS = {
    "echo": "export const handler = async (event) => ({ statusCode: 200, headers: {'content-type': "
            "'application/json'}, body: JSON.stringify(event) });",
    "rich": """let calls = 0;
export const handler = async () => ({
  statusCode: 201,
  headers: { 'content-type': 'image/png', 'x-calls': String(++calls) },
  cookies: ['a=1; Path=/; HttpOnly', 'b=2; Path=/; Secure', 'c=3'],
  body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255, 1]).toString('base64'),
  isBase64Encoded: true,
});""",
    "throws": "export const handler = async () => { throw new Error('db password is hunter2'); };",
    "slow": "let calls = 0;\nexport const handler = async (e) => { calls++; "
            "if (e.rawPath === '/slow') await new Promise((r) => setTimeout(r, 5000)); "
            "return { statusCode: 200, body: String(calls) }; };",
    "huge": "export const handler = async () => "
            "({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024 + 1) });",
    "objectbody": "export const handler = async () => ({ statusCode: 500, body: { message: 'internal' } });",
    "noexport": "export const nothing = 1;",
}


@pytest.fixture(scope="module")
def invoker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeInvoker]:
    folder = tmp_path_factory.mktemp("functions")
    modules: dict[str, Path] = {}
    for name, code in HANDLERS.items():
        (folder / f"{name}.mjs").write_text(code)
        modules[PREFIX + name] = folder / f"{name}.mjs"
    nodes = NodeInvoker(modules, timeout=1.5)
    yield nodes
    nodes.close()


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    # Module-wide: nothing here writes to the bucket, and one moto set-up keeps the module fast.
    with pytest.MonkeyPatch.context() as env, mock_aws():
        env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        client = boto3.client("s3", region_name="eu-central-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        client.put_object(Bucket=BUCKET, Key=f"shop/{DEP}/about.html", Body=b"<h1>About</h1>",
                          ContentType="text/html; charset=utf-8")
        client.put_object(Bucket=BUCKET, Key=f"shop/{DEP}/docs/__data.json", Body=b'{"type":"data"}')
        client.put_object(Bucket=BUCKET, Key=f"shop/{DEP}/caf\u00e9.html", Body="<p>caf\u00e9</p>".encode())
        client.put_object(Bucket=BUCKET, Key="other/d9/secret.html", Body=b"other project")
        yield client


@pytest.fixture
def router(s3: Any, invoker: NodeInvoker) -> Router:
    return Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=invoker,
                  function_prefix=PREFIX)


def event(project: str = "echo", path: str = "/cart", method: str = "GET", *, page: bool = False,
          deployment: str = DEP, secret: str | None = SECRET, **extra: Any) -> dict[str, Any]:
    headers = {"host": "api.example", names.PROJECT_HEADER: project, names.DEPLOYMENT_HEADER: deployment,
               names.FORWARDED_HOST_HEADER: f"{project}.ship.example.com", "accept": "text/html"}
    if secret is not None:
        headers[names.ORIGIN_SECRET_HEADER] = secret
    if page:
        headers[names.PAGE_HEADER] = "1"
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": headers, "isBase64Encoded": False,
            "requestContext": {"http": {"method": method, "path": path, "sourceIp": "130.176.0.1"},
                               "domainName": "api.example", "stage": "$default"},
            **extra}


def assert_error_page(result: dict[str, Any], status: int) -> None:
    assert result["statusCode"] == status
    assert result["headers"]["content-type"] == "text/html; charset=utf-8"
    assert result["headers"]["cache-control"] == "no-store"
    assert result["body"].startswith("<!doctype html>") and len(result["body"]) < 400
    assert "bs-srv" not in result["body"] and "hunter2" not in result["body"]


@pytest.mark.parametrize("secret", [None, "", SECRET[:-1], SECRET + "x", "x" * 64])
def test_a_request_without_the_origin_secret_is_refused(router: Router, secret: str | None) -> None:
    assert_error_page(router.handle(event(secret=secret)), 403)


def test_without_a_readable_secret_everything_is_refused(s3: Any, invoker: NodeInvoker) -> None:
    def unavailable() -> str:
        raise RuntimeError("AccessDenied")

    router = Router(origin_secret=unavailable, pages=S3Pages(s3, BUCKET), invoker=invoker,
                    function_prefix=PREFIX)
    assert_error_page(router.handle(event()), 403)


def test_the_event_reaches_the_function_intact_without_internal_headers(router: Router) -> None:
    sent = event(
        method="POST",
        rawQueryString="tag=a&tag=b&/login",
        queryStringParameters={"tag": "a,b", "/login": ""},
        cookies=["a=1", "b=2; c"],
        body=base64.b64encode(bytes(range(256))).decode(),
        isBase64Encoded=True,
    )
    result = router.handle(json.loads(json.dumps(sent)))
    assert result["statusCode"] == 200
    received = json.loads(result["body"])
    expected = json.loads(json.dumps(sent))
    for header in (names.ORIGIN_SECRET_HEADER, names.PROJECT_HEADER, names.DEPLOYMENT_HEADER):
        del expected["headers"][header]
    expected["headers"][names.FORWARDED_PROTO_HEADER] = "https"
    assert received == expected
    assert received["headers"][names.FORWARDED_HOST_HEADER] == "echo.ship.example.com"


@pytest.mark.parametrize("proto", ["http", "https, http", "javascript"])
def test_a_viewers_forwarded_proto_never_reaches_the_app(router: Router, proto: str) -> None:
    sent = event(method="POST")
    sent["headers"][names.FORWARDED_PROTO_HEADER] = proto
    received = json.loads(router.handle(sent)["body"])
    assert received["headers"][names.FORWARDED_PROTO_HEADER] == "https"


class Recording:
    """The invoker as the router sees it, noting which alias each call asked for; only the aliases in
    `aliases` exist (as only the deployments a deploy published have one)."""

    def __init__(self, nodes: NodeInvoker, aliases: set[str]) -> None:
        self.nodes, self.aliases, self.calls = nodes, aliases, list[tuple[str, str]]()

    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        self.calls.append((function, qualifier))
        if qualifier not in self.aliases:
            raise inv.DeploymentNotFound(f"{function}:{qualifier}")
        return self.nodes.invoke(function, qualifier, payload)


def test_during_a_switch_each_request_invokes_the_deployment_the_edge_resolved(
    s3: Any, invoker: NodeInvoker
) -> None:
    recording = Recording(invoker, {names.deployment_alias(DEP), names.deployment_alias(NEXT)})
    router = Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=recording,
                    function_prefix=PREFIX)
    # Edge locations switch at different moments: one still resolves DEP, another already NEXT.
    for deployment in (DEP, NEXT, DEP):
        assert router.handle(event(deployment=deployment))["statusCode"] == 200
    assert recording.calls == [(PREFIX + "echo", "d-" + d) for d in (DEP, NEXT, DEP)]


def test_a_deployment_without_its_alias_is_a_retryable_503(s3: Any, invoker: NodeInvoker) -> None:
    recording = Recording(invoker, {names.deployment_alias(DEP)})
    router = Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=recording,
                    function_prefix=PREFIX)
    result = router.handle(event(deployment=NEXT))  # the route store is ahead of the deploy
    assert_error_page(result, 503)
    assert result["headers"]["retry-after"] == "5"
    assert "being updated" in result["body"]
    assert recording.calls == [(PREFIX + "echo", "d-" + NEXT)]  # never the `live` alias as a fallback


@pytest.mark.parametrize("deployment", ["", "live", "d2", "../x", f"{DEP}:1", f"{DEP} ", DEP.upper()])
def test_a_deployment_header_not_of_the_deployment_id_form_invokes_nothing(
    s3: Any, invoker: NodeInvoker, deployment: str
) -> None:
    recording = Recording(invoker, {names.deployment_alias(DEP)})
    router = Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=recording,
                    function_prefix=PREFIX)
    # Only the edge sets it, from the route store: a bad value is the platform's error, not a 4xx.
    assert_error_page(router.handle(event(deployment=deployment)), 502)
    assert recording.calls == []


def test_the_answer_comes_back_intact_with_every_cookie_and_binary_body(router: Router) -> None:
    result = router.handle(event("rich"))
    assert result["statusCode"] == 201
    assert result["cookies"] == ["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure", "c=3"]
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == bytes([0x89, 0x50, 0x4E, 0x47, 0, 255, 1])
    assert result["headers"]["content-type"] == "image/png"


def test_the_function_instance_lives_on_between_requests(router: Router) -> None:
    first = int(router.handle(event("rich"))["headers"]["x-calls"])
    assert int(router.handle(event("rich"))["headers"]["x-calls"]) == first + 1


@pytest.mark.parametrize(
    ("project", "status"),
    [("missing", 404), ("throws", 502), ("huge", 502), ("objectbody", 502), ("noexport", 502)],
)
def test_failures_become_short_error_pages(router: Router, project: str, status: int) -> None:
    assert_error_page(router.handle(event(project)), status)


def test_a_timeout_is_504_and_the_stuck_instance_is_replaced(router: Router) -> None:
    assert router.handle(event("slow", "/fast"))["statusCode"] == 200
    assert_error_page(router.handle(event("slow", "/slow")), 504)
    assert router.handle(event("slow", "/fast"))["body"] == "1"  # a fresh instance


@pytest.mark.parametrize("project", ["", "Shop", "../x", "a" * 40, "api"])
def test_a_missing_or_invalid_project_is_404(router: Router, project: str) -> None:
    assert_error_page(router.handle(event(project)), 404)


@pytest.mark.parametrize(("path", "page"), [(f"/shop/{DEP}/about.html", True), ("/about.html", False)])
def test_a_page_is_read_from_the_deployment_prefix(router: Router, path: str, page: bool) -> None:
    result = router.handle(event("shop", path, page=page))
    assert result["statusCode"] == 200
    assert result["body"] == "<h1>About</h1>" and result["isBase64Encoded"] is False
    assert result["headers"]["content-type"] == "text/html; charset=utf-8"
    assert result["headers"]["cache-control"] == "public, max-age=0, must-revalidate"


def test_a_page_revalidation_gets_304(router: Router) -> None:
    etag = router.handle(event("shop", "/about.html"))["headers"]["etag"]
    conditional = event("shop", "/about.html")
    conditional["headers"]["if-none-match"] = etag
    result = router.handle(conditional)
    assert result["statusCode"] == 304 and result["body"] == ""


def test_prerendered_data_and_encoded_paths_are_served(router: Router) -> None:
    data = router.handle(event("shop", f"/shop/{DEP}/docs/__data.json", page=True))
    assert (data["statusCode"], data["body"]) == (200, '{"type":"data"}')
    assert data["headers"]["content-type"] == "application/json"
    assert router.handle(event("shop", "/caf%C3%A9.html"))["body"] == "<p>caf\u00e9</p>"


def test_a_head_of_a_page_has_headers_and_no_body(router: Router) -> None:
    result = router.handle(event("shop", "/about.html", "HEAD"))
    assert (result["statusCode"], result["body"]) == (200, "")
    assert result["headers"]["content-type"].startswith("text/html")
    full = router.handle(event("shop", "/about.html"))["body"]
    assert full and result["headers"]["content-length"] == str(len(full.encode()))  # what GET sends


@pytest.mark.parametrize(
    ("path", "page", "deployment"),
    [
        ("/missing.html", False, DEP),
        ("/other/d9/secret.html", True, DEP),  # another project's object
        ("/shop/d1/about.html", True, DEP),  # not the live deployment
        ("/about.html", False, ""),
        ("/about.html", False, "../other/d9"),
    ],
)
def test_pages_outside_the_live_deployment_are_404(router: Router, path: str, page: bool,
                                                    deployment: str) -> None:
    assert_error_page(router.handle(event("shop", path, page=page, deployment=deployment)), 404)


def test_a_post_to_an_html_path_goes_to_the_function(router: Router) -> None:
    result = router.handle(event("echo", "/form.html", "POST"))
    assert json.loads(result["body"])["rawPath"] == "/form.html"


def test_the_lambda_handler_reads_its_secret_once_and_serves(monkeypatch: pytest.MonkeyPatch,
                                                             s3: Any) -> None:
    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    arn = secrets.create_secret(Name="bs/origin-secret", SecretString=SECRET)["ARN"]
    monkeypatch.setenv(Env.ORIGIN_SECRET_ARN, arn)
    monkeypatch.setenv(Env.PROJECT_BUCKET, BUCKET)
    monkeypatch.setenv(Env.PROJECT_FUNCTION_PREFIX, PREFIX)
    # A new container: the module's handler as Lambda imports it, built on its first event.
    monkeypatch.setattr(router_handler, "handler", router_handler.lambda_handler(router_handler.create))
    assert router_handler.handler(event("shop", "/about.html"), None)["body"] == "<h1>About</h1>"
    secrets.update_secret(SecretId=arn, SecretString="rotated")
    # Cached for the container: the value read first still holds.
    assert router_handler.handler(event("shop", "/about.html"), None)["statusCode"] == 200
    assert router_handler.handler(event("shop", "/about.html", secret="rotated"), None)["statusCode"] == 403
