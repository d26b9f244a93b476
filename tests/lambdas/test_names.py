"""Every derived name stays inside its AWS limit at the longest stack and project names, and two
installations never share a name."""

import re

import pytest

from lambdas.shared import names
from lambdas.shared.names import MAX_PROJECT_NAME, MAX_STACK_NAME, Names

LONG_STACK = "s" + "x" * (MAX_STACK_NAME - 2) + "k"
LONG_PROJECT = "p" + "y" * (MAX_PROJECT_NAME - 2) + "q"


def test_longest_names_are_valid() -> None:
    assert names.valid_stack_name(LONG_STACK)
    assert names.valid_project_name(LONG_PROJECT)
    n = Names(LONG_STACK)
    assert len(n.project_function(LONG_PROJECT)) <= 64  # Lambda function name
    assert len(n.project_build_rule(LONG_PROJECT)) <= 64  # EventBridge rule name
    assert len(n.job_definition(LONG_PROJECT)) <= 128  # Batch job definition
    assert len(n.project_stack(LONG_PROJECT)) <= 128  # CloudFormation stack
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", n.project_stack(LONG_PROJECT))
    for kind in names.PROJECT_LOG_KINDS:
        assert len(n.project_log_group(LONG_PROJECT, kind)) <= 512
    for role in ("pre-traffic", "post-traffic"):
        assert len(n.hook_function(role)) <= 64
    assert len(n.artifacts_bucket("123456789012", "ap-southeast-2")) <= 63
    assert len(n.route_store) <= 64
    assert len(n.cloudfront("project-server-origin")) <= 128
    # A DNS label: `<project>.<domain>` must be a valid host name.
    assert len(LONG_PROJECT) <= 63


@pytest.mark.parametrize(
    "bad", ["", "a", "-abc", "abc-", "ab--c", "Upper", "has_underscore", "x" * 21, "9start"]
)
def test_bad_stack_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid stack name"):
        Names(bad)


@pytest.mark.parametrize(
    "bad", ["", "-shop", "shop-", "sh--op", "Shop", "shop.io", "www", "admin", "x" * (MAX_PROJECT_NAME + 1)]
)
def test_bad_project_names_are_refused(bad: str) -> None:
    assert not names.valid_project_name(bad)


def test_two_installations_share_no_name() -> None:
    a, b = Names("alpha"), Names("beta")
    for attr in (
        "bus",
        "route_store",
        "api",
        "router_api",
        "job_queue",
        "session_key_secret",
        "ticket_key_secret",
        "origin_secret",
        "project_boundary_policy",
        "project_role_path",
        "token_key_alias",
    ):
        assert getattr(a, attr) != getattr(b, attr), attr
    for kind in names.TABLES:
        assert a.table(kind) != b.table(kind)
    assert a.project_function("shop") != b.project_function("shop")
    assert a.project_stack("shop") != b.project_stack("shop")


def test_route_store_key_namespaces_cannot_collide() -> None:
    # An alias can never be read back as another project's page or live pointer (reference defect 13).
    keys = {names.alias_key("shop"), names.live_key("shop"), names.page_key("shop", "d1", "/")}
    assert len(keys) == 3
    assert names.page_key("shop", "d1", "/about") == "p:shop/d1/about"
    assert names.deployment_prefix("shop", "d1") == "shop/d1/"


def test_project_of_stack_inverts_project_stack() -> None:
    n = Names("battleshiper")
    assert n.project_of_stack(n.project_stack("shop")) == "shop"
    assert n.project_of_stack("other-stack") is None
