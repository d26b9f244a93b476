"""Administration: every role against every admin endpoint, and what each endpoint does."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.api import admin
from lambdas.shared import names
from lambdas.shared.models import Project, ProjectStatus, Repository, Role
from lambdas.shared.rbac import ROLE_PERMISSIONS, Permission
from tests.lambdas.api.conftest import Api, body

P = Permission
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], frozenset[Permission]]] = {
    "finduser": ("GET", "/api/admin/finduser", {"query": {"user_id": "5000"}}, frozenset({P.READ_USER})),
    "findproject": (
        "GET",
        "/api/admin/findproject",
        {"query": {"owner_id": "5000"}},
        frozenset({P.READ_PROJECT}),
    ),
    "updateuser": (
        "PATCH",
        "/api/admin/updateuser",
        {"json_body": {"user_id": "5000", "update": {"subscription_id": "basic"}}},
        frozenset({P.WRITE_USER}),
    ),
    "updaterole": (
        "PATCH",
        "/api/admin/updaterole",
        {"json_body": {"user_id": "5000", "rbac_roles": ["SUPPORT"]}},
        frozenset({P.WRITE_ROLE}),
    ),
    "fetchlog": ("POST", "/api/admin/fetchlog", {"json_body": {"log_type": "api"}}, frozenset({P.READ_LOGS})),
    "listsubscription": ("GET", "/api/admin/listsubscription", {}, frozenset({P.READ_SUBSCRIPTION})),
    "upsertsubscription": (
        "PUT",
        "/api/admin/upsertsubscription",
        {"json_body": {"id": "pro", "name": "Pro", "limits": {"project_count": 5}}},
        frozenset({P.WRITE_SUBSCRIPTION}),
    ),
    "deleteuser": (
        "DELETE",
        "/api/admin/deleteuser",
        {"json_body": {"user_id": "5001"}},
        frozenset({P.WRITE_USER, P.WRITE_PROJECT}),
    ),
    "deleteproject": (
        "DELETE",
        "/api/admin/deleteproject",
        {"json_body": {"project_name": "victim"}},
        frozenset({P.WRITE_PROJECT}),
    ),
}


def seed(api: Api) -> None:
    api.add_subscription("basic")
    api.add_user("5000", "target")
    api.add_user("5001", "leaver")
    api.store.projects.create(
        Project(
            name="victim",
            owner_id="5000",
            repository=Repository(id=1, full_name="t/v", installation_id=1),
            status=ProjectStatus.LIVE,
        )
    )


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_permission_matrix(api: Api, role: Role, endpoint: str) -> None:
    seed(api)
    _, session = api.add_user("1", "actor", roles=[Role.USER, role])
    method, path, kw, needed = ENDPOINTS[endpoint]
    response = api.call(method, path, session=session, **kw)
    if needed <= ROLE_PERMISSIONS[role]:
        assert response["statusCode"] in (200, 202), response["body"]
    else:
        assert response["statusCode"] == 403, response["body"]
        assert body(response)["error"]["code"] == "forbidden"


def test_admin_endpoints_need_a_session(api: Api) -> None:
    for method, path, kw, _ in ENDPOINTS.values():
        assert api.call(method, path, **kw)["statusCode"] == 401, path


def test_updaterole_takes_known_roles_ends_sessions_and_keeps_the_last_role_manager(api: Api) -> None:
    _, target_session = api.add_user("5000", "target")
    _, session = api.add_user("1", "boss", roles=[Role.USER, Role.ROLE_MANAGER])

    def roles(user_id: str, values: Any) -> dict[str, Any]:
        return api.call(
            "PATCH",
            "/api/admin/updaterole",
            session=session,
            json_body={"user_id": user_id, "rbac_roles": values},
        )

    assert roles("5000", ["GOD"])["statusCode"] == 400
    assert roles("5000", "")["statusCode"] == 400
    assert roles("5000", ["MAINTAINER"])["statusCode"] == 200
    stored = api.store.users.get(id="5000")
    assert stored is not None and stored.roles == [Role.USER, Role.MAINTAINER]
    assert api.call("GET", "/api/user/fetchinfo", session=target_session)["statusCode"] == 401
    assert roles("1", ["ROLE_MANAGER", "MAINTAINER"])["statusCode"] == 403  # no self-escalation
    last = roles("1", [])
    assert last["statusCode"] == 409 and body(last)["error"]["code"] == "last_role_manager"
    assert roles("9999", [])["statusCode"] == 404
    assert roles("5000", ["ROLE_MANAGER"])["statusCode"] == 200
    assert roles("1", [])["statusCode"] == 200  # another manager exists now
    assert roles("5000", [])["statusCode"] == 401  # the demoted manager's session ended


def test_updateuser_needs_an_existing_subscription_and_another_user(api: Api) -> None:
    api.add_subscription("basic")
    api.add_user("5000", "target", subscription=None)
    _, session = api.add_user("1", "maint", roles=[Role.USER, Role.MAINTAINER])

    def update(user_id: str, subscription: str | None) -> int:
        return int(
            api.call(
                "PATCH",
                "/api/admin/updateuser",
                session=session,
                json_body={"user_id": user_id, "update": {"subscription_id": subscription}},
            )["statusCode"]
        )

    assert update("5000", "gold") == 400
    assert update("1", "basic") == 403
    assert update("5000", "basic") == 200
    stored = api.store.users.get(id="5000")
    assert stored is not None and stored.subscription_id == "basic"
    assert update("404", "basic") == 404


def test_upsertsubscription_validates_limits(api: Api) -> None:
    _, session = api.add_user("1", "subs", roles=[Role.USER, Role.SUBSCRIPTION_MANAGER])
    bad = [
        {"id": "pro", "name": ""},
        {"id": "pro", "name": "Pro", "limits": {"project_count": -1}},
        {"id": "", "name": "Pro"},
        {"id": "pro", "name": "Pro", "limits": {"project_count": None}},
        {"id": "pro", "name": "Pro", "limits": {"unknown": 1}},
    ]
    for value in bad:
        assert (
            api.call("PUT", "/api/admin/upsertsubscription", session=session, json_body=value)["statusCode"]
            == 400
        ), value
    ok = api.call(
        "PUT",
        "/api/admin/upsertsubscription",
        session=session,
        json_body={"id": "pro", "name": "Pro", "limits": {"project_count": 9}},
    )
    assert ok["statusCode"] == 200
    listed = api.call("GET", "/api/admin/listsubscription", session=session)
    (pro,) = body(listed)["subscriptions"]
    assert pro["limits"]["project_count"] == 9


def test_deleteuser_refuses_privileged_users_and_owners_of_projects(api: Api) -> None:
    seed(api)
    api.add_user("5002", "support", roles=[Role.USER, Role.SUPPORT])
    _, session = api.add_user("1", "maint", roles=[Role.USER, Role.MAINTAINER])

    def delete(user_id: str) -> int:
        return int(
            api.call("DELETE", "/api/admin/deleteuser", session=session, json_body={"user_id": user_id})[
                "statusCode"
            ]
        )

    assert delete("5000") == 409  # owns a project
    assert delete("5002") == 409  # privileged
    assert delete("1") == 403
    assert delete("5001") == 200 and api.store.users.get(id="5001") is None


def test_admin_deleteproject_and_findproject(api: Api) -> None:
    seed(api)
    api.pipeline_events()
    _, session = api.add_user("1", "maint", roles=[Role.USER, Role.MAINTAINER])
    found = api.call("GET", "/api/admin/findproject", session=session, query={"project_name": "victim"})
    assert [p["name"] for p in body(found)["projects"]] == ["victim"]
    assert api.call("GET", "/api/admin/findproject", session=session)["statusCode"] == 400
    response = api.call(
        "DELETE", "/api/admin/deleteproject", session=session, json_body={"project_name": "victim"}
    )
    assert response["statusCode"] == 202
    (event,) = api.pipeline_events()
    assert event["detail-type"] == names.DELETE_DETAIL_TYPE
    assert (
        api.call(
            "DELETE", "/api/admin/deleteproject", session=session, json_body={"project_name": "nothere"}
        )["statusCode"]
        == 404
    )


def test_admin_actions_are_logged_with_the_actor(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    seed(api)
    _, session = api.add_user("1", "maint", roles=[Role.USER, Role.MAINTAINER])
    api.call(
        "PATCH",
        "/api/admin/updateuser",
        session=session,
        json_body={"user_id": "5000", "update": {"subscription_id": None}},
    )
    assert '"actor_id":"1"' in capsys.readouterr().out


def test_two_role_managers_removing_each_other_at_once_leave_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, anna = api.add_user("1", "anna", roles=[Role.USER, Role.ROLE_MANAGER])
    _, ben = api.add_user("2", "ben", roles=[Role.USER, Role.ROLE_MANAGER])

    def demote(session: str, user_id: str) -> dict[str, Any]:
        return api.call("PATCH", "/api/admin/updaterole", session=session,
                        json_body={"user_id": user_id, "rbac_roles": []})

    counted = admin._role_managers
    answers: list[dict[str, Any]] = []

    def interleaved(request: Any) -> set[str]:
        """anna's request has counted two managers; ben's request runs to its end before hers goes on."""
        managers = counted(request)
        monkeypatch.setattr(admin, "_role_managers", counted)
        answers.append(demote(ben, "1"))
        return managers

    monkeypatch.setattr(admin, "_role_managers", interleaved)
    first = demote(anna, "2")
    (second,) = answers
    assert second["statusCode"] == 200, second["body"]  # ben removed anna
    assert first["statusCode"] == 409 and body(first)["error"]["code"] == "last_role_manager"
    managers = [u.id for u in api.store.users.scan() if Role.ROLE_MANAGER in u.roles]
    assert managers == ["2"]
