"""Repository access through an organisation's installation of the GitHub App (issue 13): every
member sees, creates from and builds only what their own GitHub access allows, checked with their own
token at creation and again at every build (API, push webhook)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from lambdas.shared.models import ProjectStatus, Repository
from tests.lambdas.api.conftest import HANDBOOK, ORG_INSTALLATION, SECRET_REPO, Api, body
from tests.lambdas.api.test_resource import create


def repositories(api: Api, session: str) -> set[str]:
    response = api.call("GET", "/api/resource/listrepository", session=session)
    assert response["statusCode"] == 200, response["body"]
    return {r["full_name"] for r in body(response)["repositories"]}


def build(api: Api, session: str, name: str) -> dict[str, Any]:
    return api.call("POST", "/api/resource/buildproject", session=session, json_body={"project_name": name})


def ready(api: Api, name: str) -> None:
    """The project's stack is up (what init records)."""
    api.store.projects.update({"name": name}, {"status": ProjectStatus.READY.value})


def push(api: Api, repository_id: int, delivery: str) -> dict[str, Any]:
    """A signed push delivery, through the webhook function as Lambda runs it."""
    payload = {"ref": "refs/heads/main", "after": "a" * 40, "repository": {"id": repository_id},
               "installation": {"id": ORG_INSTALLATION}}
    raw = json.dumps(payload).encode()
    secret = api.github.secret()["webhook_secret"].encode()
    event = {
        "body": raw.decode(), "isBase64Encoded": False,
        "headers": {"x-github-event": "push", "x-github-delivery": delivery, "content-length": str(len(raw)),
                    "x-hub-signature-256": "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()},
    }
    handler = api.platform.handler("lambdas.api.webhook.handler")
    response: dict[str, Any] = handler(event, None)
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


def test_each_member_lists_only_the_repositories_they_can_access(api: Api, org: dict[str, str]) -> None:
    assert repositories(api, org["alice"]) == {"acme/secret"}
    assert repositories(api, org["bob"]) == {"acme/handbook"}
    # Asked with each user's own token: the App's installation-wide list was never read.
    assert not [p for _, p, _ in api.github.requests if p == "/installation/repositories"]


def test_a_member_without_access_cannot_create_from_the_repository(api: Api, org: dict[str, str]) -> None:
    response = create(api, org["bob"], "leak", SECRET_REPO.id)
    assert response["statusCode"] == 403, response["body"]
    assert body(response)["error"]["code"] == "repository_not_installed"
    assert api.store.projects.get(name="leak") is None
    assert api.pipeline_events() == []
    # alice, who has access, can.
    assert create(api, org["alice"], "secret", SECRET_REPO.id)["statusCode"] == 201


def test_a_member_without_access_cannot_build_the_repository(api: Api, org: dict[str, str]) -> None:
    # A project of bob's on the secret repository (created before the check, or by an older platform).
    created = create(api, org["bob"], "handbook", HANDBOOK.id)
    assert created["statusCode"] == 201, created["body"]
    repo = Repository(id=SECRET_REPO.id, full_name="acme/secret", installation_id=ORG_INSTALLATION)
    api.store.projects.update({"name": "handbook"}, {"repository": repo.model_dump(),
                                                     "status": ProjectStatus.READY.value})
    api.pipeline_events()  # drain the init event
    response = build(api, org["bob"], "handbook")
    assert response["statusCode"] == 403 and body(response)["error"]["code"] == "no_access"
    assert "no access to the repository" in body(response)["error"]["message"]
    assert api.pipeline_events() == []
    assert list(api.store.deployments.query(project_name="handbook")) == []


def test_access_removed_after_creation_refuses_the_next_build_with_the_reason(
    api: Api, org: dict[str, str]
) -> None:
    assert create(api, org["alice"], "secret", SECRET_REPO.id)["statusCode"] == 201
    ready(api, "secret")
    api.pipeline_events()
    assert build(api, org["alice"], "secret")["statusCode"] == 202  # while she has access

    api.github.revoke_access(ORG_INSTALLATION, api.github.accounts[1001], SECRET_REPO.id)
    api.store.projects.update({"name": "secret"}, {"status": ProjectStatus.LIVE.value})
    api.pipeline_events()
    refused = build(api, org["alice"], "secret")
    assert refused["statusCode"] == 403 and body(refused)["error"]["code"] == "no_access"
    # The project says why, in the API's view of it.
    listed = body(api.call("GET", "/api/resource/listproject", session=org["alice"]))["projects"]
    (project,) = [p for p in listed if p["name"] == "secret"]
    assert project["status"] == "FAILED"
    assert "acme/secret" in project["status_reason"] and "no access" in project["status_reason"]
    # A push builds nothing either, and says why.
    result = push(api, SECRET_REPO.id, "d-1")
    assert result["builds"] == [] and "no access" in result["refused"][0]["reason"]
    assert api.pipeline_events() == []


def test_an_expired_user_token_is_renewed_and_the_rotated_grant_kept(api: Api, org: dict[str, str]) -> None:
    before = api.store.users.get(id="1001")
    assert before is not None
    api.store.users.update({"id": "1001"}, {"github_token_expires_at": 0})
    assert repositories(api, org["alice"]) == {"acme/secret"}
    after = api.store.users.get(id="1001")
    assert after is not None and after.github_refresh_token != before.github_refresh_token
    assert after.github_token_expires_at > api.clock[0]
    # GitHub's refresh tokens are single use: the first one is spent, the stored one works.
    assert list(api.github.refresh_tokens.values()).count(1001) == 1


def test_a_revoked_github_grant_asks_to_sign_in_again(api: Api, org: dict[str, str]) -> None:
    api.github.access_tokens.clear()
    api.github.refresh_tokens.clear()
    api.store.users.update({"id": "1001"}, {"github_token_expires_at": 0})
    response = api.call("GET", "/api/resource/listrepository", session=org["alice"])
    assert response["statusCode"] == 403
    assert body(response)["error"]["code"] == "github_sign_in_needed"


def test_a_push_renews_the_owners_expired_token_and_builds(api: Api, org: dict[str, str]) -> None:
    assert create(api, org["alice"], "secret", SECRET_REPO.id)["statusCode"] == 201
    ready(api, "secret")
    api.pipeline_events()
    before = api.store.users.get(id="1001")
    assert before is not None
    api.store.users.update({"id": "1001"}, {"github_token_expires_at": 0})
    result = push(api, SECRET_REPO.id, "d-2")
    assert [b["project"] for b in result["builds"]] == ["secret"], result
    after = api.store.users.get(id="1001")
    assert after is not None and after.github_refresh_token != before.github_refresh_token
