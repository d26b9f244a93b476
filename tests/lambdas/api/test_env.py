"""Environment variables and secrets through the API (issue 14): validation, permissions, masking,
quotas, and what a build captures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.shared import names
from lambdas.shared.models import ProjectStatus, Role
from tests.lambdas.api.conftest import SECRET_REPO, Api, body
from tests.lambdas.api.test_repositories import push
from tests.lambdas.api.test_resource import create

SECRET = "s3cr3t-value-9f1c"


@pytest.fixture
def alice(api: Api, alice_repo: Any) -> str:
    alice_repo()
    api.add_subscription("basic", project_count=2, daily_builds=5, env_variables=6, env_bytes=4096)
    session = api.add_user()[1]
    assert create(api, session)["statusCode"] == 201
    api.store.projects.update({"name": "shop"}, {"status": ProjectStatus.READY.value})
    return session


def put(api: Api, session: str, *variables: dict[str, Any], project: str = "shop") -> dict[str, Any]:
    return api.call("PUT", "/api/resource/env", session=session,
                    json_body={"project_name": project, "variables": list(variables)})


def get(api: Api, session: str, project: str = "shop") -> dict[str, Any]:
    return api.call("GET", "/api/resource/env", session=session, query={"project_name": project})


def test_plain_values_are_shown_and_secrets_never(api: Api, alice: str) -> None:
    saved = put(api, alice, {"name": "GREETING", "value": "hi", "applies": "runtime"},
                {"name": "API_KEY", "value": SECRET, "kind": "secret", "target": "production"})
    assert saved["statusCode"] == 200, saved["body"]
    assert body(saved)["message"] == "saved: redeploy to apply"
    listed = get(api, alice)
    rows = {(v["name"], v["target"]): v for v in body(listed)["variables"]}
    assert set(rows) == {("API_KEY", "production"), ("GREETING", "production"), ("GREETING", "preview")}
    greeting = rows[("GREETING", "production")]
    assert greeting["value"] == "hi" and not greeting["masked"]
    assert rows[("API_KEY", "production")]["value"] is None and rows[("API_KEY", "production")]["masked"]
    assert rows[("API_KEY", "production")]["updated_by"] == "alice"
    assert SECRET not in saved["body"] and SECRET not in listed["body"]
    assert body(listed)["usage"] == {"variables": 3, "variables_limit": 6,
                                     "bytes": 2 * len("GREETING") + 4 + len("API_KEY") + len(SECRET),
                                     "bytes_limit": 4096}
    # At rest the record holds sealed values only.
    raw = api.store.projects.table.get_item(Key={"name": "shop"})["Item"]
    assert SECRET not in json.dumps(raw, default=str) and '"hi"' not in json.dumps(raw, default=str)


@pytest.mark.parametrize(("variable", "code"), [
    ({"name": "AWS_REGION", "value": "x"}, "reserved_name"),
    ({"name": "_HANDLER", "value": "x"}, "reserved_name"),
    ({"name": "BATTLESHIPER_X", "value": "x"}, "reserved_name"),
    ({"name": "PATH", "value": "/bin"}, "reserved_name"),
    ({"name": "1ST", "value": "x"}, "invalid_name"),
    ({"name": "A-B", "value": "x"}, "invalid_name"),
    ({"name": "PUBLIC_TOKEN", "value": "x", "kind": "secret"}, "public_secret"),
    ({"name": "BIG", "value": "x" * (32 * 1024 + 1)}, "value_too_large"),
    ({"name": "T", "value": "x", "target": "staging"}, "invalid_target"),
])
def test_bad_variables_are_refused_with_the_reason_and_nothing_is_stored(
    api: Api, alice: str, variable: dict[str, Any], code: str
) -> None:
    response = put(api, alice, {"name": "GOOD", "value": "1"}, variable)
    assert response["statusCode"] == 400, response["body"]
    assert body(response)["error"]["code"] == code
    assert body(get(api, alice))["variables"] == []


def test_unknown_fields_and_kinds_are_client_errors(api: Api, alice: str) -> None:
    assert put(api, alice, {"name": "A", "value": "1", "scope": "x"})["statusCode"] == 400
    assert put(api, alice, {"name": "A", "value": "1", "kind": "hidden"})["statusCode"] == 400


def test_quotas_count_variables_and_bytes(api: Api, alice: str) -> None:
    assert put(api, alice, *({"name": f"V{i}", "value": "1"} for i in range(3)))["statusCode"] == 200
    over = put(api, alice, {"name": "V3", "value": "1", "target": "production"})  # 7 entries
    assert over["statusCode"] == 403 and body(over)["error"]["code"] == "quota_exceeded"
    big = put(api, alice, {"name": "V0", "value": "x" * 4000})  # replaces V0 (both targets): 8000 bytes
    assert big["statusCode"] == 403 and body(big)["error"]["code"] == "quota_exceeded"
    assert {v["name"] for v in body(get(api, alice))["variables"]} == {"V0", "V1", "V2"}


def test_unset_removes_per_target_and_says_when_nothing_matched(api: Api, alice: str) -> None:
    put(api, alice, {"name": "A", "value": "1"})
    removed = api.call("DELETE", "/api/resource/env", session=alice,
                       json_body={"project_name": "shop", "names": ["A"], "target": "preview"})
    assert removed["statusCode"] == 200
    assert [(v["name"], v["target"]) for v in body(removed)["variables"]] == [("A", "production")]
    missing = api.call("DELETE", "/api/resource/env", session=alice,
                       json_body={"project_name": "shop", "names": ["NOPE"]})
    assert missing["statusCode"] == 404 and body(missing)["error"]["code"] == "not_found"


def test_only_the_owner_and_administrators_with_the_permission_reach_it(api: Api, alice: str) -> None:
    put(api, alice, {"name": "A", "value": "1"})
    _, bob = api.add_user(id="1002", login="bob")
    assert get(api, bob)["statusCode"] == 404
    assert put(api, bob, {"name": "B", "value": "2"})["statusCode"] == 404
    _, support = api.add_user(id="1003", login="sam", roles=[Role.SUPPORT])
    assert get(api, support)["statusCode"] == 200
    refused = put(api, support, {"name": "B", "value": "2"})
    assert refused["statusCode"] == 403 and body(refused)["error"]["code"] == "forbidden"
    _, maintainer = api.add_user(id="1004", login="max", roles=[Role.MAINTAINER])
    assert put(api, maintainer, {"name": "B", "value": "2"})["statusCode"] == 200
    assert get(api, alice)["statusCode"] == 200
    assert get(api, None)["statusCode"] == 401  # type: ignore[arg-type]


def test_a_build_captures_its_configuration_and_no_secret_leaves_sealed(api: Api, alice: str) -> None:
    put(api, alice, {"name": "PUBLIC_GREETING", "value": "hello", "applies": "build"},
        {"name": "DB_PASSWORD", "value": SECRET, "kind": "secret"},
        {"name": "MESSAGE", "value": "run time", "applies": "runtime"})
    api.pipeline_events()
    response = api.call("POST", "/api/resource/buildproject", session=alice,
                        json_body={"project_name": "shop"})
    assert response["statusCode"] == 202, response["body"]
    deployment = body(response)["deployment"]
    assert deployment["runtime_variables"] == ["DB_PASSWORD", "MESSAGE"]
    assert deployment["env_revision"] == 1
    s3, bucket, d = api.admin.client("s3"), api.env["BUILD_BUCKET"], deployment["deployment_id"]
    spec = json.loads(s3.get_object(Bucket=bucket, Key=names.build_spec_key("shop", d))["Body"].read())
    assert spec["environment"] == {"PUBLIC_GREETING": "hello", "DB_PASSWORD": SECRET}
    assert spec["masked"] == [SECRET]
    sealed = s3.get_object(Bucket=bucket, Key=names.runtime_config_key("shop", d))["Body"].read()
    assert json.loads(sealed)["context"] == {names.CONFIG_CONTEXT_KEY: "shop"}
    assert SECRET.encode() not in sealed and b"run time" not in sealed
    # Nothing else that leaves the build trigger holds the secret: the build event, the records.
    assert SECRET not in json.dumps(api.pipeline_events())
    record = api.store.deployments.table.get_item(Key={"project_name": "shop", "deployment_id": d})["Item"]
    assert SECRET not in json.dumps(record, default=str)
    assert SECRET not in response["body"]


def test_a_push_captures_the_configuration_as_a_dashboard_build_does(api: Api, org: dict[str, str]) -> None:
    """The webhook function seals the runtime file with its own role (kms:GenerateDataKey)."""
    assert create(api, org["alice"], "secret", SECRET_REPO.id)["statusCode"] == 201
    api.store.projects.update({"name": "secret"}, {"status": ProjectStatus.READY.value})
    saved = put(api, org["alice"], {"name": "DB_PASSWORD", "value": SECRET, "kind": "secret",
                                    "applies": "runtime"}, project="secret")
    assert saved["statusCode"] == 200, saved["body"]
    result = push(api, SECRET_REPO.id, "env-1")
    [build] = result["builds"]
    assert build["project"] == "secret" and SECRET not in json.dumps(result)
    s3, bucket = api.admin.client("s3"), api.env["BUILD_BUCKET"]
    sealed = s3.get_object(Bucket=bucket, Key=names.runtime_config_key("secret", build["deployment"]))
    assert SECRET.encode() not in sealed["Body"].read()
    spec = s3.get_object(Bucket=bucket, Key=names.build_spec_key("secret", build["deployment"]))
    assert json.loads(spec["Body"].read())["environment"] == {}  # runtime only: not in the build
