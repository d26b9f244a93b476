"""The whole flow over HTTP against a started local platform: sign in, create a project from a local
repository, push, build and deploy, pages, SSR, a form post with cookies, a binary response, rollback,
delete."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from battleshiper_cli.local import sample
from battleshiper_cli.local.git_host import git
from lambdas.shared import names
from tests.local.conftest import Answer, Local

DASHBOARD = "localhost"
SITE = "shop.localhost"
FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html,application/xhtml+xml"}


def sign_in(local: Local) -> str:
    """The OAuth round trip a browser makes; returns the session cookie (`name=value`)."""
    start = local.request(DASHBOARD, "/api/auth/authorize")
    assert start.status == 302
    state_cookie = start.cookies()[0].split(";")[0]
    at_github = urlsplit(start.headers["location"])
    import http.client

    connection = http.client.HTTPConnection(at_github.hostname, at_github.port, timeout=30)
    connection.request("GET", f"{at_github.path}?{at_github.query}")
    back = connection.getresponse()
    assert back.status == 302
    callback = urlsplit(back.headers["location"])
    # The stand-in sends the browser back to the local edge, not to https://localhost.
    assert (callback.scheme, callback.hostname, callback.port) == ("http", DASHBOARD, local.port)
    done = local.request(DASHBOARD, f"{callback.path}?{callback.query}", headers={"cookie": state_cookie})
    assert done.status == 302 and done.headers["location"] == f"http://{DASHBOARD}:{local.port}/profile"
    session = [c.split(";")[0] for c in done.cookies() if c.startswith(names.SESSION_COOKIE)]
    assert session
    return session[0]


def api(local: Local, session: str, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
    return local.request(
        DASHBOARD,
        path,
        method,
        headers={
            "cookie": session,
            "origin": f"http://{DASHBOARD}:{local.port}",
            "content-type": "application/json",
        },
        body=json.dumps(body).encode() if body is not None else None,
    )


def project(local: Local, session: str) -> dict[str, Any]:
    answer = api(local, session, "GET", "/api/resource/listproject")
    found = [p for p in json.loads(answer.body)["projects"] if p["name"] == "shop"]
    return found[0] if found else {}


def wait(local: Local, session: str, done: Any, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = project(local, session)
        if done(current):
            return current
        time.sleep(0.3)
    pytest.fail(f"timed out; project is {project(local, session)}")


@pytest.fixture(scope="module")
def app_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample.prepare(tmp_path_factory.mktemp("app") / "shop")


def test_the_whole_flow(local: Local, app_source: Path) -> None:
    session = sign_in(local)
    me = json.loads(api(local, session, "GET", "/api/user/fetchinfo").body)
    assert me["login"] == "local"

    # A repository in the stand-in's folder is one of the user's installed repositories.
    remote = local.data_dir / "git" / "local" / "shop.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    repositories: list[dict[str, Any]] = []
    for _ in range(50):
        listed = json.loads(api(local, session, "GET", "/api/resource/listrepository").body)["repositories"]
        repositories = [r for r in listed if r["full_name"] == "local/shop"]
        if repositories:
            break
        time.sleep(0.2)
    assert repositories

    created = api(
        local,
        session,
        "POST",
        "/api/resource/createproject",
        {
            "project_name": "shop",
            "repository_id": repositories[0]["id"],
            "install_command": sample.INSTALL_COMMAND,
        },
    )
    assert created.status == 201, created.text
    wait(local, session, lambda p: p.get("status") == "READY", 60)

    # Push: the webhook starts a build; the real pipeline builds and deploys it.
    first_commit = sample.push_directory(remote, app_source, "first")
    first = wait(local, session, lambda p: p.get("status") in ("LIVE", "FAILED"))
    assert first["status"] == "LIVE", first["status_reason"]

    # Prerendered page with and without `.html`, from the project bucket.
    with_html, without = local.request(SITE, "/docs.html"), local.request(SITE, "/docs")
    assert with_html.status == without.status == 200
    assert with_html.body == without.body and without.headers["content-type"].startswith("text/html")
    # HEAD: the length GET sends, and no body (a static file, a prerendered page with and without `.html`).
    for path in ("/robots.txt", "/docs", "/docs.html"):
        got, head = local.request(SITE, path), local.request(SITE, path, "HEAD")
        assert (head.status, head.body) == (got.status, b""), path
        assert got.body and head.headers["content-length"] == str(len(got.body)), path
    # SSR page, through the router and the project function.
    ssr = local.request(SITE, "/ssr")
    assert ssr.status == 200 and "<html" in ssr.text
    # A binary response survives intact.
    badge = local.request(SITE, "/api/badge")
    assert badge.status == 200 and badge.headers["content-type"] == "image/png"
    assert badge.body.startswith(b"\x89PNG\r\n\x1a\n")
    # A form action sets two cookies; they come back on the next request.
    posted = local.request(
        SITE,
        "/cookies?/set",
        "POST",
        body=b"flavour=mint&size=large",
        headers={**FORM, "origin": f"http://{SITE}:{local.port}"},
    )
    assert posted.status == 200, posted.text
    assert sorted(c.split(";")[0] for c in posted.cookies()) == ["flavour=mint", "size=large"]
    again = local.request(SITE, "/cookies", headers={"cookie": "flavour=mint; size=large"})
    assert '<p id="flavour">mint</p>' in again.text and '<p id="size">large</p>' in again.text

    # A second push goes live with its own files.
    (app_source / "static" / "robots.txt").write_text("User-agent: *\nDisallow: /second\n")
    second_commit = sample.push_directory(remote, app_source, "second")
    assert second_commit != first_commit
    wait(
        local,
        session,
        lambda p: p.get("status") == "LIVE" and p["live_deployment"] != first["live_deployment"],
    )
    assert "Disallow: /second" in local.request(SITE, "/robots.txt").text

    # Rollback: the first deployment answers again, files and server alike.
    rolled = api(
        local,
        session,
        "POST",
        "/api/resource/rollbackproject",
        {"project_name": "shop", "deployment_id": first["live_deployment"]},
    )
    assert rolled.status == 200, rolled.text
    robots = local.request(SITE, "/robots.txt")
    assert robots.status == 200 and "Disallow: /second" not in robots.text
    assert local.request(SITE, "/ssr").status == 200

    # Delete: the host answers with the error page.
    deleted = api(local, session, "DELETE", "/api/resource/deleteproject", {"project_name": "shop"})
    assert deleted.status in (200, 202), deleted.text
    wait(local, session, lambda p: not p, 60)
    gone = local.request(SITE, "/")
    assert gone.status == 404 and re.search(r"<h1>[^<]+</h1>", gone.text)


def test_a_host_the_platform_does_not_serve_gets_the_error_page(local: Local) -> None:
    answer = local.request("elsewhere.example", "/")
    assert answer.status == 404 and "text/html" in answer.headers["content-type"]
    head = local.request("elsewhere.example", "/", "HEAD")
    assert (head.status, head.body) == (404, b"")
    assert head.headers["content-length"] == str(len(answer.body))  # what GET sends


def test_a_head_of_a_dashboard_file_has_the_length_get_sends(local: Local) -> None:
    got, head = local.request(DASHBOARD, "/robots.txt"), local.request(DASHBOARD, "/robots.txt", "HEAD")
    assert got.status == head.status == 200 and got.body and head.body == b""
    assert head.headers["content-length"] == str(len(got.body))
