"""Generated requests against every endpoint: a client's mistake is a 4xx with the JSON error shape,
never a 5xx (issue "Bad input")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.api import admin, auth, resource, user
from lambdas.shared import names
from lambdas.shared.api import MAX_BODY_BYTES
from lambdas.shared.models import Role
from tests.lambdas.api.conftest import Api

ROUTES = [key for module in (auth, user, resource, admin) for key in module.ROUTES]
FIELDS = [
    "project_name",
    "repository_id",
    "aliases",
    "log_type",
    "user_id",
    "update",
    "rbac_roles",
    "id",
    "name",
    "limits",
    "start_time",
    "end_time",
    "limit",
    "next_token",
    "commit",
    "deployment_id",
    "branch",
    "build_command",
    "install_command",
    "output_directory",
    "filter_lambda",
    "subscription_id",
    "project_count",
    "next",
    "owner_id",
    "code",
    "state",
    "error",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["shop", "1001", "5000", "api", "ROLE_MANAGER", "build", "basic", "a" * 70])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
objects = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)
bodies = st.one_of(
    st.none(),
    objects.map(json.dumps),
    values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.just("x" * (MAX_BODY_BYTES + 1)),
    st.just("{" * 5000),
)
queries = st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    other_method=st.sampled_from([None, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    body=bodies,
    base64_encoded=st.booleans(),
    query=queries,
    signed_in=st.sampled_from(["user", "admin", "garbage", None]),
    origin=st.sampled_from([True, False]),
)
def test_bad_input_never_causes_a_server_error(
    fuzz_api: tuple[Api, dict[str, str]],
    route: str,
    other_method: str | None,
    body: Any,
    base64_encoded: bool,
    query: dict[str, str],
    signed_in: str | None,
    origin: bool,
) -> None:
    api, sessions = fuzz_api
    method, path = route.split(" ", 1)
    session = sessions.get(signed_in) if signed_in else None
    response = api.call(
        other_method or method,
        path,
        body=body,
        base64_encoded=base64_encoded and isinstance(body, str),
        query=query,
        origin="https://ship.example.com" if origin else None,
        cookies={names.SESSION_COOKIE: session or "garbage"} if signed_in else None,
    )
    status = response["statusCode"]
    assert status < 500, (route, response["body"])
    if status >= 400:
        error = json.loads(response["body"])["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@pytest.fixture
def fuzz_api(api: Api, alice_repo: Any) -> tuple[Api, dict[str, str]]:
    alice_repo()
    api.add_subscription("basic", project_count=3, alias_count=2)
    _, alice = api.add_user()
    _, boss = api.add_user("1", "boss", roles=list(Role))
    api.add_user("5000", "target")
    api.call(
        "POST",
        "/api/resource/createproject",
        session=alice,
        json_body={"project_name": "shop", "repository_id": 7001},
    )
    return api, {"user": alice, "admin": boss}
