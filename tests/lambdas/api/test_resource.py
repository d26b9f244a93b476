"""Project endpoints: the owner's view, quotas, aliases, builds, logs and deletion."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from battleshiper_cli.local.github import Repo
from lambdas.shared import names, quotas, routes
from lambdas.shared.models import Deployment, Project, ProjectStatus, Repository
from lambdas.shared.store import Store
from tests.lambdas.api.conftest import Api, body


def create(
    api: Api, session: str, name: str = "shop", repository_id: int = 7001, **extra: Any
) -> dict[str, Any]:
    return api.call(
        "POST",
        "/api/resource/createproject",
        session=session,
        json_body={"project_name": name, "repository_id": repository_id, **extra},
    )


@pytest.fixture
def alice(api: Api, alice_repo: Any) -> str:
    alice_repo()
    api.add_subscription("basic", project_count=2, alias_count=2, daily_builds=5)
    return api.add_user()[1]


def test_listrepository_shows_the_installations_repositories(api: Api, alice: str) -> None:
    response = api.call("GET", "/api/resource/listrepository", session=alice)
    assert response["statusCode"] == 200
    assert {r["full_name"] for r in body(response)["repositories"]} == {"alice/shop", "alice/blog"}
    # The listing asked GitHub with alice's own token: no installation token was minted for it.
    assert [p for _, p, _ in api.github.requests] == ["/user/installations/501/repositories"]


def test_listrepository_without_an_installation_is_empty(api: Api) -> None:
    _, session = api.add_user(installation_id=None)
    response = api.call("GET", "/api/resource/listrepository", session=session)
    assert body(response)["repositories"] == [] and body(response)["installation_id"] is None


def test_createproject_writes_the_project_route_and_init_event(api: Api, alice: str) -> None:
    response = create(api, alice, "Shop", install_command="pnpm i")
    assert response["statusCode"] == 201, response["body"]
    project = api.store.projects.get(name="shop")
    assert project is not None and project.status == ProjectStatus.CREATING
    assert project.repository == Repository(id=7001, full_name="alice/shop", installation_id=501)
    assert project.install_command == "pnpm i" and project.aliases == ["shop"]
    assert api.routes.get(names.alias_key("shop")) == "shop"
    (event,) = api.pipeline_events()
    assert event["detail-type"] == names.INIT_DETAIL_TYPE and event["detail"]["project"] == "shop"
    user = api.store.users.get(id="1001")
    assert user is not None and user.project_count == 1
    other_branch = create(api, alice, "blog", 7002)
    assert body(other_branch)["project"]["branch"] == "trunk"  # the repository's default branch


@pytest.mark.parametrize("name", ["a--b", "-ab", "www", "x" * 33, "dé", "under_score", ""])
def test_createproject_refuses_bad_names(api: Api, alice: str, name: str) -> None:
    response = create(api, alice, name)
    assert response["statusCode"] == 400
    assert api.store.projects.get(name="shop") is None


def test_createproject_refuses_a_repository_outside_the_installation(api: Api, alice: str) -> None:
    api.github.install(900, api.github.add_account(3000, "mallory"), [])
    response = create(api, alice, "shop", 424242)
    assert response["statusCode"] == 403 and body(response)["error"]["code"] == "repository_not_installed"
    assert api.pipeline_events() == []


def test_createproject_refuses_taken_names_and_aliases(api: Api, alice: str) -> None:
    assert create(api, alice, "shop")["statusCode"] == 201
    assert create(api, alice, "shop")["statusCode"] == 409
    api.routes.data[names.alias_key("promo")] = "someone-else"
    assert create(api, alice, "promo")["statusCode"] == 409


def test_createproject_needs_a_subscription(api: Api, alice_repo: Any) -> None:
    alice_repo()
    _, session = api.add_user(subscription=None)
    response = create(api, session)
    assert response["statusCode"] == 403 and body(response)["error"]["code"] == "no_subscription"


@pytest.fixture
def serialized_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process DynamoDB is not thread-safe (its transactions deep-copy tables another thread may
    be writing: "dictionary changed size during iteration"). Serialise its request handling, as a real
    service would, while our handlers still interleave freely between requests."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


@pytest.mark.usefixtures("serialized_moto")
def test_concurrent_creates_never_exceed_the_project_quota(api: Api, alice: str) -> None:
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda i: create(api, alice, f"proj{i}")["statusCode"], range(6)))
    assert sorted(statuses) == [201, 201, 403, 403, 403, 403]
    assert len(list(api.store.projects.scan())) == 2
    user = api.store.users.get(id="1001")
    assert user is not None and user.project_count == 2


@pytest.mark.denied_by_iam
def test_a_failed_init_event_undoes_the_project(api: Api, alice: str) -> None:
    api.restart("resource", EVENT_BUS="no-such-bus")  # AWS refuses the call: the role names one bus
    response = create(api, alice)
    assert response["statusCode"] == 503
    assert api.store.projects.get(name="shop") is None
    assert api.routes.get(names.alias_key("shop")) is None
    user = api.store.users.get(id="1001")
    assert user is not None and user.project_count == 0


def test_listproject_pages_through_own_projects_only(api: Api, alice: str) -> None:
    for i in range(5):
        api.store.projects.create(
            Project(
                name=f"p{i}", owner_id="1001", repository=Repository(id=1, full_name="a/b", installation_id=1)
            )
        )
    api.store.projects.create(
        Project(name="theirs", owner_id="9", repository=Repository(id=1, full_name="a/b", installation_id=1))
    )
    seen: list[str] = []
    cursor = None
    while True:
        response = api.call(
            "GET",
            "/api/resource/listproject",
            session=alice,
            query={"limit": "2", **({"next": cursor} if cursor else {})},
        )
        assert response["statusCode"] == 200
        seen += [p["name"] for p in body(response)["projects"]]
        cursor = body(response)["next"]
        if not cursor:
            break
    assert sorted(seen) == [f"p{i}" for i in range(5)]


def test_updateproject_changes_only_given_fields_of_own_projects(api: Api, alice: str) -> None:
    create(api, alice)
    response = api.call(
        "PATCH",
        "/api/resource/updateproject",
        session=alice,
        json_body={"project_name": "shop", "build_command": "npm run build:prod", "repository_id": 7002},
    )
    assert response["statusCode"] == 200, response["body"]
    project = api.store.projects.get(name="shop")
    assert project is not None and project.build_command == "npm run build:prod"
    assert project.repository.full_name == "alice/blog" and project.install_command == "npm ci"
    assert (
        api.call("PATCH", "/api/resource/updateproject", session=alice, json_body={"project_name": "shop"})[
            "statusCode"
        ]
        == 400
    )
    assert (
        api.call(
            "PATCH",
            "/api/resource/updateproject",
            session=alice,
            json_body={"project_name": "shop", "output_directory": "../etc"},
        )["statusCode"]
        == 400
    )
    _, bob = api.add_user("1002", "bob")
    assert (
        api.call(
            "PATCH",
            "/api/resource/updateproject",
            session=bob,
            json_body={"project_name": "shop", "build_command": "x"},
        )["statusCode"]
        == 404
    )


def test_updatealias_validates_claims_and_releases_aliases(api: Api, alice: str) -> None:
    create(api, alice)

    def aliases(values: list[str]) -> dict[str, Any]:
        return api.call(
            "POST",
            "/api/resource/updatealias",
            session=alice,
            json_body={"project_name": "shop", "aliases": values},
        )

    ok = aliases(["store", "Promo"])
    assert ok["statusCode"] == 200, ok["body"]
    assert body(ok)["project"]["aliases"] == ["shop", "store", "promo"]  # own name always kept
    assert api.routes.get(names.alias_key("store")) == "shop"
    assert aliases(["a", "b", "c"])["statusCode"] == 403  # quota 2
    for bad in (["x.shop"], ["www"], ["/victim/x"], ["UPPER_case"]):
        assert aliases(bad)["statusCode"] == 400, bad
    api.routes.data[names.alias_key("taken")] = "other"
    assert aliases(["taken"])["statusCode"] == 409
    assert aliases(["store"])["statusCode"] == 200
    assert api.routes.get(names.alias_key("promo")) is None
    assert api.routes.get(names.alias_key("shop")) == "shop"


def test_deleteproject_marks_it_and_sends_the_delete_request(api: Api, alice: str) -> None:
    create(api, alice)
    api.pipeline_events()
    _, bob = api.add_user("1002", "bob")
    assert (
        api.call("DELETE", "/api/resource/deleteproject", session=bob, json_body={"project_name": "shop"})[
            "statusCode"
        ]
        == 404
    )
    response = api.call(
        "DELETE", "/api/resource/deleteproject", session=alice, json_body={"project_name": "shop"}
    )
    assert response["statusCode"] == 202
    project = api.store.projects.get(name="shop")
    assert project is not None and project.status == ProjectStatus.DELETING
    (event,) = api.pipeline_events()
    assert event["detail-type"] == names.DELETE_DETAIL_TYPE


def test_fetchlog_reads_the_projects_log_group_in_a_bounded_window(api: Api, alice: str) -> None:
    create(api, alice)
    logs = boto3.client("logs")
    group = names.Names("battleshiper").project_log_group("shop", "build")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(api.clock[0] * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now_ms - 2000, "message": "START RequestId: 1"},
            {"timestamp": now_ms - 1000, "message": "vite build done"},
        ],
    )
    response = api.call(
        "POST",
        "/api/resource/fetchlog",
        session=alice,
        json_body={
            "project_name": "shop",
            "log_type": "build",
            "start_time": now_ms - 60_000,
            "end_time": now_ms,
        },
    )
    assert response["statusCode"] == 200, response["body"]
    assert [e["message"] for e in body(response)["events"]] == ["vite build done"]
    empty = api.call(
        "POST",
        "/api/resource/fetchlog",
        session=alice,
        json_body={"project_name": "shop", "log_type": "deploy"},
    )
    assert body(empty)["events"] == []
    assert (
        api.call(
            "POST",
            "/api/resource/fetchlog",
            session=alice,
            json_body={"project_name": "shop", "log_type": "build", "start_time": 0, "end_time": now_ms},
        )["statusCode"]
        == 400
    )  # window too wide
    assert (
        api.call(
            "POST",
            "/api/resource/fetchlog",
            session=alice,
            json_body={"project_name": "shop", "log_type": "secrets"},
        )["statusCode"]
        == 400
    )


def test_listdeployments_newest_first(api: Api, alice: str) -> None:
    create(api, alice)
    for i in range(3):
        api.store.deployments.create(
            Deployment(project_name="shop", deployment_id=f"2026010{i}T000000-00000{i}")
        )
    response = api.call(
        "GET", "/api/resource/listdeployments", session=alice, query={"project_name": "shop", "limit": "2"}
    )
    assert response["statusCode"] == 200, response["body"]
    first = body(response)
    assert [d["deployment_id"] for d in first["deployments"]] == [
        "20260102T000000-000002",
        "20260101T000000-000001",
    ]
    rest = api.call(
        "GET",
        "/api/resource/listdeployments",
        session=alice,
        query={"project_name": "shop", "next": first["next"]},
    )
    assert [d["deployment_id"] for d in body(rest)["deployments"]] == ["20260100T000000-000000"]


def test_buildproject_starts_a_build_with_a_repository_scoped_token(api: Api, alice: str) -> None:
    create(api, alice)
    api.store.projects.update({"name": "shop"}, {"status": ProjectStatus.READY.value})
    api.pipeline_events()
    response = api.call(
        "POST", "/api/resource/buildproject", session=alice, json_body={"project_name": "shop"}
    )
    assert response["statusCode"] == 202, response["body"]
    deployment_id = body(response)["deployment"]["deployment_id"]
    spec = json.loads(
        api.admin.client("s3")
        .get_object(Bucket=api.env["BUILD_BUCKET"], Key=names.build_spec_key("shop", deployment_id))["Body"]
        .read()
    )
    assert spec["clone_url"].endswith("/alice/shop.git")
    scoped = [
        b for m, p, b in api.github.requests if p.endswith("/access_tokens") and b.get("repository_ids")
    ]
    assert scoped[-1] == {"permissions": {"contents": "read"}, "repository_ids": [7001]}
    (event,) = api.pipeline_events()
    assert event["detail-type"] == names.build_detail_type("shop")
    assert body(response)["message"] == "build started"
    assert body(response)["deployment"]["status"] == "BUILDING"
    assert "route_paths" not in body(response)["deployment"]

    # A second build while the first runs waits for it, and says so.
    again = api.call("POST", "/api/resource/buildproject", session=alice, json_body={"project_name": "shop"})
    assert again["statusCode"] == 202 and body(again)["deployment"]["status"] == "QUEUED"
    assert body(again)["message"].startswith("build queued")
    assert api.pipeline_events() == []


def test_buildproject_enforces_the_daily_quota_with_429(api: Api, alice_repo: Any) -> None:
    alice_repo()
    api.add_subscription("basic", daily_builds=1)
    _, session = api.add_user()
    create(api, session)
    api.store.projects.update({"name": "shop"}, {"status": ProjectStatus.READY.value})
    build = {"project_name": "shop"}
    assert (
        api.call("POST", "/api/resource/buildproject", session=session, json_body=build)["statusCode"] == 202
    )
    refused = api.call("POST", "/api/resource/buildproject", session=session, json_body=build)
    assert refused["statusCode"] == 429


def test_two_users_claiming_one_alias_at_once_cannot_both_win(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob_account = api.github.add_account(1002, "bob")
    api.github.install(502, bob_account, [Repo(7101, "site", "bob")])
    _, bob = api.add_user("1002", "bob", installation_id=502)
    assert create(api, alice, "shop")["statusCode"] == 201
    assert create(api, bob, "site", 7101)["statusCode"] == 201

    def aliases(session: str, project: str) -> dict[str, Any]:
        return api.call("POST", "/api/resource/updatealias", session=session,
                        json_body={"project_name": project, "aliases": ["promo"]})

    claim = Store.claim_aliases
    answers: list[dict[str, Any]] = []

    def interleaved(store: Store, project: str, wanted: Any) -> None:
        """alice's request has found `promo` free; bob's request runs to its end before hers claims it."""
        monkeypatch.setattr(Store, "claim_aliases", claim)
        answers.append(aliases(bob, "site"))
        claim(store, project, wanted)

    monkeypatch.setattr(Store, "claim_aliases", interleaved)
    first = aliases(alice, "shop")
    (second,) = answers
    assert second["statusCode"] == 200, second["body"]
    assert first["statusCode"] == 409 and body(first)["error"]["code"] == "alias_taken"
    # The alias serves bob's project, and only his record lists it.
    assert api.routes.get(names.alias_key("promo")) == "site"
    shop, site = api.store.projects.get(name="shop"), api.store.projects.get(name="site")
    assert shop is not None and "promo" not in shop.aliases
    assert site is not None and "promo" in site.aliases


def test_an_alias_given_up_or_of_a_deleted_project_can_be_claimed_again(api: Api, alice: str) -> None:
    assert create(api, alice, "shop")["statusCode"] == 201
    assert create(api, alice, "blog", 7002)["statusCode"] == 201

    def aliases(project: str, wanted: list[str]) -> int:
        return int(api.call("POST", "/api/resource/updatealias", session=alice,
                            json_body={"project_name": project, "aliases": wanted})["statusCode"])

    assert aliases("shop", ["promo"]) == 200
    assert aliases("blog", ["promo"]) == 409
    assert aliases("shop", []) == 200  # given up
    assert aliases("blog", ["promo"]) == 200
    # A project's name can never become another project's alias, nor an alias another project's name.
    assert aliases("blog", ["shop"]) == 409
    assert create(api, alice, "promo")["statusCode"] == 409
    # blog is deleted as the pipeline does it (routes, then the record): its claims no longer hold.
    project = api.store.projects.get(name="blog")
    assert project is not None
    routes.update(api.routes, {}, [names.alias_key(a) for a in project.aliases])
    quotas.release_project(api.store, project)
    assert aliases("shop", ["promo"]) == 200
    assert create(api, alice, "blog", 7002)["statusCode"] == 201
