"""Ticketed pipeline events (init, delete) refuse forged, expired, misdirected and replayed tickets; the
webhook refuses unsigned requests and handles installations, renames and deletions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from lambdas.api import webhook
from lambdas.pipeline import delete, init
from lambdas.shared import names, tickets
from lambdas.shared.models import ProjectStatus
from tests.lambdas.pipeline.conftest import TICKET_KEY, World
from tests.lambdas.pipeline.support import ARTIFACTS_BUCKET, STACK

SECRET = "webhook-secret"


def init_event(token: str, event_id: str = "e1", action: str = names.INIT_DETAIL_TYPE) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": names.EVENT_SOURCE,
        "detail-type": action,
        "detail": {names.TICKET_DETAIL_FIELD: token},
    }


def ticket(**kw: Any) -> str:
    args = {
        "stack": STACK,
        "action": names.INIT_DETAIL_TYPE,
        "subject": "101",
        "project": "shop",
        "ttl": 600,
    } | kw
    return tickets.issue(kw.pop("key", TICKET_KEY), **{k: v for k, v in args.items() if k != "key"})


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: ticket(key=b"x" * 64), id="forged"),
        pytest.param(lambda: ticket(ttl=-120), id="expired"),
        pytest.param(lambda: ticket(action=names.DELETE_DETAIL_TYPE), id="wrong-audience"),
        pytest.param(lambda: ticket(stack="other"), id="other-installation"),
        pytest.param(lambda: ticket(subject="999"), id="not-the-owner"),
    ],
)
def test_bad_tickets_change_nothing(world: World, token: Any) -> None:
    world.add_project(status=ProjectStatus.CREATING)
    assert init.init_event(world.init, init_event(token())) is None
    project = world.deps.store.projects.get(name="shop")
    assert project and project.status == ProjectStatus.CREATING


def test_a_delete_ticket_does_not_delete_when_replayed_in_a_new_event(world: World) -> None:
    world.add_project()
    token = ticket(action=names.DELETE_DETAIL_TYPE)
    world.deps.store.projects.update({"name": "shop"}, {"lock": {"owner": "x", "expires_at": 2**40}})
    # First delivery fails (a lock that will not expire within the test): retried with the same event id.
    clock = iter([0.0, 0.0, 0.0, 10.0**6, 10.0**6, 10.0**6]).__next__
    with pytest.raises(delete.DeleteFailed):
        first = init_event(token, "e1", names.DELETE_DETAIL_TYPE)
        delete.delete_event(world.function("delete", now=clock), first)
    # The same ticket in a new event (a replay) is refused.
    assert not delete.delete_event(world.delete, init_event(token, "e2", names.DELETE_DETAIL_TYPE))


def test_init_creates_the_stack_once_and_is_idempotent(world: World) -> None:
    deps = world.deps
    world.add_project(status=ProjectStatus.CREATING)
    # A small stand-in for the project template with the same parameters (moto cannot run the real one).
    parameters = {
        getattr(names.ProjectStackParams, k): {"Type": "String"}
        for k in vars(names.ProjectStackParams)
        if k.isupper()
    }
    parameters[names.ProjectStackParams.BUILD_IMAGE]["Default"] = "node:22"
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": parameters,
        "Resources": {
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/x/${ProjectName}"}},
            }
        },
    }
    function = world.init  # the shipped template's key and hash, the platform's build image
    env = function.env
    key = env[names.Env.PROJECT_TEMPLATE_KEY]
    deps.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=json.dumps(template))
    project = init.init_event(function, init_event(ticket()))
    assert project and project.status == ProjectStatus.READY and project.stack_name == f"{STACK}-project-shop"
    stack = deps.cloudformation.describe_stacks(StackName=project.stack_name)["Stacks"][0]
    tag = {"Key": names.Names(STACK).template_hash_tag, "Value": env[names.Env.PROJECT_TEMPLATE_HASH]}
    assert tag in stack["Tags"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    # The platform's image, not the template's default.
    assert parameters[names.ProjectStackParams.BUILD_IMAGE] == env[names.Env.BUILD_IMAGE] != "node:22"
    # A second request (a new ticket) finds the stack in a good state: still READY, no second stack.
    again = init.init_event(function, init_event(ticket(), "e9"))
    assert again and again.status == ProjectStatus.READY
    assert len(deps.cloudformation.describe_stacks(StackName=project.stack_name)["Stacks"]) == 1


def signed(
    kind: str, payload: dict[str, Any], delivery: str, secret: str = SECRET, b64: bool = False
) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "body": base64.b64encode(body).decode() if b64 else body.decode(),
        "isBase64Encoded": b64,
        "headers": {"x-github-event": kind, "x-github-delivery": delivery, "x-hub-signature-256": signature},
    }


def test_unsigned_wrongly_signed_or_unconfigured_requests_are_refused(world: World) -> None:
    request = signed("ping", {}, "p1")
    assert webhook.handle(world.webhook, request, "")["statusCode"] == 401  # no secret: refuse all
    forged = signed("ping", {}, "p2", secret="other")
    assert webhook.handle(world.webhook, forged, SECRET)["statusCode"] == 401
    unsigned = dict(request, headers={"x-github-event": "ping", "x-github-delivery": "p3"})
    assert webhook.handle(world.webhook, unsigned, SECRET)["statusCode"] == 401
    assert webhook.handle(world.webhook, signed("ping", {}, "p4", b64=True), SECRET)["statusCode"] == 200


def test_installation_links_and_unlinks_by_numeric_id(world: World) -> None:
    world.add_project()
    payload = {"action": "deleted", "installation": {"id": 55}, "sender": {"id": 101, "login": "octo"}}
    assert webhook.handle(world.webhook, signed("installation", payload, "i1"), SECRET)["statusCode"] == 200
    user = world.deps.store.users.get(id="101")
    assert user and user.installation_id is None
    payload = {"action": "created", "installation": {"id": 77}, "sender": {"id": 101, "login": "renamed"}}
    webhook.handle(world.webhook, signed("installation", payload, "i2"), SECRET)
    user = world.deps.store.users.get(id="101")
    assert user and user.installation_id == 77


def test_repository_rename_and_deletion_update_the_project(world: World) -> None:
    world.add_project()
    renamed = {
        "action": "renamed",
        "installation": {"id": 55},
        "repository": {"id": 7, "full_name": "octo/store"},
    }
    webhook.handle(world.webhook, signed("repository", renamed, "r1"), SECRET)
    project = world.deps.store.projects.get(name="shop")
    assert project and project.repository.full_name == "octo/store"
    deleted = {
        "action": "deleted",
        "installation": {"id": 55},
        "repository": {"id": 7, "full_name": "octo/store"},
    }
    webhook.handle(world.webhook, signed("repository", deleted, "r2"), SECRET)
    project = world.deps.store.projects.get(name="shop")
    assert project and project.status == ProjectStatus.FAILED and "deleted" in project.status_reason


def test_push_to_another_branch_or_a_branch_deletion_builds_nothing(world: World) -> None:
    world.add_project()
    for delivery, payload in (
        ("b1", {"ref": "refs/heads/dev", "after": "b" * 40}),
        ("b2", {"ref": "refs/heads/main", "after": "0" * 40, "deleted": True}),
    ):
        payload |= {"repository": {"id": 7}, "installation": {"id": 55}}
        answer = json.loads(webhook.handle(world.webhook, signed("push", payload, delivery), SECRET)["body"])
        assert not answer.get("builds")
    assert world.build_messages() == []


def test_push_over_the_daily_quota_is_refused_without_counting(world: World) -> None:
    world.add_project(limits={"daily_builds": 1})
    push = {"ref": "refs/heads/main", "after": "c" * 40, "repository": {"id": 7}, "installation": {"id": 55}}
    first = json.loads(webhook.handle(world.webhook, signed("push", push, "q1"), SECRET)["body"])
    second = json.loads(webhook.handle(world.webhook, signed("push", push, "q2"), SECRET)["body"])
    assert len(first["builds"]) == 1 and "quota" in second["refused"][0]["reason"]
    user = world.deps.store.users.get(id="101")
    assert user and user.build_counter.count == 1
