"""The sample app, built with our adapter, answers every route correctly through the whole path:
CloudFront Function (the real code, in Node) -> S3 or router -> the built handler (in Node)."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.node import NodeInvoker, extract_handler
from lambdas.pipeline.route_paths import route_paths
from lambdas.router.pages import S3Pages
from lambdas.router.router import Router
from lambdas.shared import names
from tests.adapter.cdn import DOMAIN, VIEWER_IP, Cdn, ViewerRequest

SECRET = "s3cr3t-0f-the-cdn-0123456789abcdef"
DEPLOYMENT = "20261128T000100-0a0b0c"
PREFIX = "bs-srv-"
BUCKET = "project-bucket"
HOST = f"shop.{DOMAIN}"
SITE = f"https://{HOST}"
HTML = "text/html,application/xhtml+xml"  # what a browser's native form post accepts
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


EXTRA_FILES = {
    "caf\u00e9.html": "<h1>Caf\u00e9</h1>".encode(),
    "donn\u00e9es/\u65e5\u672c.json": b'{"ok":true}',
}


def content_type(path: Path) -> str:
    if path.suffix == ".html":
        return "text/html; charset=utf-8"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@pytest.fixture(scope="module")
def cdn(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdn]:
    workdir = tmp_path_factory.mktemp("sample-site")
    with pytest.MonkeyPatch.context() as env, mock_aws():
        env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        # What a deployment puts in the bucket: client files and pages under one immutable prefix.
        prefix = names.deployment_prefix("shop", DEPLOYMENT)
        for folder in ("client", "prerendered"):
            for file in sorted((sample_build / folder).rglob("*")):
                if file.is_file():
                    key = prefix + file.relative_to(sample_build / folder).as_posix()
                    s3.put_object(Bucket=BUCKET, Key=key, Body=file.read_bytes(),
                                  ContentType=content_type(file))
        routes = {
            names.alias_key("shop"): "shop",
            names.live_key("shop"): DEPLOYMENT,
            names.alias_key("ghost"): "ghost",  # a project whose function is gone
            names.live_key("ghost"): "20261128T000000-0d0e0f",
        }
        # Files named beyond ASCII, as a deployment may hold them (the keys are the decoded names).
        for name, body in EXTRA_FILES.items():
            s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=body, ContentType=content_type(Path(name)))
        # The files as the build output names them (`client/...`, `prerendered/...`).
        files = [f"{folder}/{p.relative_to(sample_build / folder).as_posix()}"
                 for folder in ("client", "prerendered")
                 for p in (sample_build / folder).rglob("*") if p.is_file()]
        extra = [f"{'prerendered' if name.endswith('.html') else 'client'}/{name}" for name in EXTRA_FILES]
        # What the deploy writes: a route key for every file but the immutable assets.
        keys = route_paths([*files, *extra])
        routes.update({names.page_key("shop", DEPLOYMENT, path): obj for path, obj in keys.items()})

        module = extract_handler(sample_build / "server" / "handler.zip", workdir / "function")
        invoker = NodeInvoker({PREFIX + "shop": module}, timeout=20)
        router = Router(origin_secret=lambda: SECRET, pages=S3Pages(s3, BUCKET), invoker=invoker,
                        function_prefix=PREFIX)
        site = Cdn(routes, router, s3, BUCKET, SECRET, workdir)
        try:
            yield site
        finally:
            site.close()
            invoker.close()


def test_the_build_has_the_deployable_layout(sample_build: Path) -> None:
    assert sorted(p.relative_to(sample_build / "prerendered").as_posix()
                  for p in (sample_build / "prerendered").rglob("*") if p.is_file()) == [
        "docs.html", "docs/guide/intro.html", "index.html"]
    # Prerendered data is a static file, not a page (reference defect 86).
    assert (sample_build / "client" / "docs" / "__data.json").is_file()
    assert (sample_build / "client" / "robots.txt").is_file()
    assert json.loads((sample_build / "battleshiper.json").read_text())["pages"] == {
        "/": "/index.html", "/docs": "/docs.html", "/docs/guide/intro": "/docs/guide/intro.html"}


@pytest.mark.parametrize(
    ("path", "heading"),
    [("/", "Sample home"), ("/index.html", "Sample home"), ("/docs", "Docs"), ("/docs/", "Docs"),
     ("/docs.html", "Docs"), ("/docs/guide/intro", "Intro guide"), ("/docs/guide/intro/", "Intro guide"),
     ("/docs/guide/intro.html", "Intro guide")],
)
@pytest.mark.parametrize("origin_selection", [True, False], ids=["edge-to-bucket", "via-router"])
def test_prerendered_pages_come_from_the_bucket(cdn: Cdn, path: str, heading: str,
                                                origin_selection: bool) -> None:
    response = cdn.request(ViewerRequest(path), origin_selection=origin_selection)
    assert response.status == 200
    assert response.served_by == ("bucket" if origin_selection else "router")
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{heading}</h1>" in response.text


def test_a_head_of_a_page_through_the_router_has_no_body(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/docs", method="HEAD"), origin_selection=False)
    assert (response.status, response.body, response.served_by) == (200, b"", "router")
    assert response.headers["etag"]


def test_an_ssr_page_sees_the_site_origin_every_query_value_and_the_real_client(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/ssr", query="tag=a&tag=b%20c",
                                         headers={"x-forwarded-for": "203.0.113.66", "user-agent": "pytest"}))
    assert (response.status, response.served_by) == (200, "router")
    assert response.headers["content-type"].startswith("text/html")
    assert f'<p id="origin">{SITE}</p>' in response.text  # not the execute-api host (defect 81)
    assert '<p id="tags">a|b c</p>' in response.text
    assert '<p id="agent">pytest</p>' in response.text
    assert f'<p id="client">{VIEWER_IP}</p>' in response.text  # not the forged hop (defect 24)


def test_the_app_gets_no_internal_headers(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/api/info.json"))
    assert names.ORIGIN_SECRET_HEADER in cdn.events[-1]["headers"]  # the router got the secret ...
    received = response.json()["headers"]
    internal = (names.ORIGIN_SECRET_HEADER, names.PROJECT_HEADER, names.DEPLOYMENT_HEADER, names.PAGE_HEADER)
    for header in internal:
        assert header not in received  # ... the app never sees it
    assert names.FORWARDED_HOST_HEADER in received


def test_a_form_action_sets_two_cookies_and_reads_both_back(cdn: Cdn) -> None:
    body = b"flavour=mint&size=large"
    posted = cdn.request(ViewerRequest("/cookies", method="POST", query="/set", body=body, headers={
        "content-type": "application/x-www-form-urlencoded", "origin": SITE, "accept": HTML}))
    assert posted.status == 200
    assert '<p id="saved">saved</p>' in posted.text
    assert sorted(c.split(";")[0] for c in posted.cookies) == ["flavour=mint", "size=large"]
    assert all("HttpOnly" in c and "Secure" in c and "SameSite=Lax" in c for c in posted.cookies)
    assert "set-cookie" not in posted.headers

    again = cdn.request(ViewerRequest("/cookies", cookies=["flavour=mint", "size=large"]))
    assert '<p id="flavour">mint</p>' in again.text and '<p id="size">large</p>' in again.text


def test_a_form_action_without_a_field_answers_400(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/cookies", method="POST", query="/set", body=b"flavour=mint",
                                         headers={"content-type": "application/x-www-form-urlencoded",
                                                  "origin": SITE, "accept": HTML}))
    assert response.status == 400
    assert '<p id="missing">' in response.text and response.cookies == []


def test_a_cross_site_form_post_is_refused_by_sveltekit(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/cookies", method="POST", query="/set", body=b"flavour=x&size=y",
                                         headers={"content-type": "application/x-www-form-urlencoded",
                                                  "origin": "https://evil.example"}))
    assert response.status == 403
    assert response.cookies == []


def test_a_dotted_json_endpoint_is_a_server_route(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/api/info.json", query="tag=x&tag=y"))
    assert (response.status, response.served_by) == (200, "router")
    assert response.headers["content-type"] == "application/json"
    assert {k: v for k, v in response.json().items() if k != "headers"} == {
        "ok": True, "path": "/api/info.json", "tags": ["x", "y"]}


def test_a_binary_request_body_arrives_byte_exact(cdn: Cdn) -> None:
    data = bytes(range(256)) * 3
    response = cdn.request(ViewerRequest("/api/info.json", method="POST", body=data,
                                         headers={"content-type": "application/octet-stream",
                                                  "origin": SITE}))
    assert response.status == 200
    assert response.json() == {"length": 768, "sum": sum(data) % 65536, "type": "application/octet-stream"}


def test_a_png_endpoint_returns_the_exact_bytes(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/api/badge"))
    assert (response.status, response.served_by) == (200, "router")
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.body == PNG


def test_client_side_navigation_to_an_ssr_page_gets_its_data(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/items/42/__data.json", query="x-sveltekit-invalidated=01"))
    assert (response.status, response.served_by) == (200, "router")
    data = response.json()
    assert data["type"] == "data" and "Item 42" in data["nodes"][1]["data"]


def test_client_side_navigation_to_a_prerendered_page_gets_its_prerendered_data(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/docs/__data.json", query="x-sveltekit-invalidated=01"))
    assert (response.status, response.served_by) == (200, "bucket")
    assert "deploying" in response.text


def test_static_files_come_from_the_deployment_prefix(cdn: Cdn, sample_build: Path) -> None:
    asset = next(p for p in sorted((sample_build / "client" / "_app" / "immutable").rglob("*.js")))
    path = "/" + asset.relative_to(sample_build / "client").as_posix()
    response = cdn.request(ViewerRequest(path))
    assert (response.status, response.served_by) == (200, "bucket")
    assert response.body == asset.read_bytes()
    robots = cdn.request(ViewerRequest("/robots.txt"))
    assert robots.text == "User-agent: *\nAllow: /\n"


@pytest.mark.parametrize("path", ["/nope", "/items/abc"])
def test_unknown_app_paths_get_the_apps_404(cdn: Cdn, path: str) -> None:
    response = cdn.request(ViewerRequest(path))
    assert (response.status, response.served_by) == (404, "router")
    assert "Not Found" in response.text or "No such item" in response.text


def test_a_project_without_a_function_gets_a_404_page(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/ssr", host=f"ghost.{DOMAIN}"))
    assert (response.status, response.served_by) == (404, "router")
    assert response.headers["content-type"].startswith("text/html")
    assert "ghost" not in response.text and "srv" not in response.text


def test_an_unknown_host_is_answered_by_the_edge(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/ssr", host=f"nobody.{DOMAIN}"))
    assert (response.status, response.served_by) == (404, "edge")


def test_the_router_refuses_a_request_that_did_not_come_through_the_cdn(cdn: Cdn) -> None:
    cdn.request(ViewerRequest("/ssr"))
    event = json.loads(json.dumps(cdn.events[-1]))
    del event["headers"][names.ORIGIN_SECRET_HEADER]
    assert cdn.router.handle(event)["statusCode"] == 403
    event["headers"][names.ORIGIN_SECRET_HEADER] = SECRET[:-1] + "x"
    refused = cdn.router.handle(event)
    assert refused["statusCode"] == 403 and SECRET not in refused["body"]
    assert re.search(r"<h1>Forbidden</h1>", refused["body"])


def test_files_come_from_the_bucket_by_what_the_deployment_holds(cdn: Cdn) -> None:
    # Not by extension: `/robots.txt` is a file of the deployment; `/api/info.json` is not, so the app
    # answers it.
    assert cdn.request(ViewerRequest("/robots.txt")).served_by == "bucket"
    assert cdn.request(ViewerRequest("/docs/__data.json")).served_by == "bucket"
    dotted = cdn.request(ViewerRequest("/api/info.json"))
    assert (dotted.status, dotted.served_by) == (200, "router")


@pytest.mark.parametrize("path", ["/caf%C3%A9", "/caf%c3%a9.html", "/caf%C3%A9/"])
def test_an_encoded_path_finds_its_prerendered_page(cdn: Cdn, path: str) -> None:
    response = cdn.request(ViewerRequest(path))
    assert (response.status, response.served_by) == (200, "bucket")
    assert response.text == "<h1>Caf\u00e9</h1>"


def test_an_encoded_path_finds_its_static_file(cdn: Cdn) -> None:
    response = cdn.request(ViewerRequest("/donn%C3%A9es/%E6%97%A5%E6%9C%AC.json"))
    assert (response.status, response.served_by) == (200, "bucket")
    assert response.json() == {"ok": True}


def test_a_viewers_forwarded_proto_and_host_never_reach_the_app(cdn: Cdn) -> None:
    forged = {"x-forwarded-proto": "http", "x-forwarded-host": "evil.example"}
    page = cdn.request(ViewerRequest("/ssr", headers=forged))
    # The app's URL (redirects, CSRF checks, absolute links) is the site's own, over HTTPS.
    assert (page.status, page.served_by) == (200, "router")
    assert f'<p id="origin">{SITE}</p>' in page.text
