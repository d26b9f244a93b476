"""CloudFormation's handler permissions: read from cfn-lint's bundled provider schemas, shipped as a
snapshot, and held by the project-stack service role for every resource type of the project
template, so a type added to that template cannot be forgotten in the role."""

from __future__ import annotations

from typing import Any

from battleshiper_cli import handler_permissions as hp
from templates import ids
from templates.project_stack import WITHHELD_HANDLER_PERMISSIONS
from tests.support.action_match import allowing, role_statements


def test_handler_permissions_come_from_the_provider_schemas() -> None:
    function = hp.schema_permissions("AWS::Lambda::Function")
    assert {"lambda:CreateFunction", "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetRuntimeManagementConfig", "iam:PassRole"} <= function
    assert "lambda:ListFunctions" not in function  # the list handler serves no stack operation
    # "Batch:…" in the schema, one spelling of UntagResource, and no "s3:REST.PUT.OBJECT".
    assert {"batch:RegisterJobDefinition", "batch:UntagResource"} <= hp.schema_permissions(
        "AWS::Batch::JobDefinition")
    assert all(hp.IAM_ACTION.match(a) for a in hp.schema_permissions("AWS::Logs::LogGroup"))


def test_every_resource_type_of_a_template_is_covered(project: dict[str, Any]) -> None:
    per_type = hp.template_permissions(project)
    assert set(per_type) == {r["Type"] for r in project["Resources"].values()}
    assert "lambda:GetRuntimeManagementConfig" in per_type["AWS::Lambda::Function"]


def test_the_shipped_snapshot_equals_the_schemas() -> None:
    # Fails when a template gains a resource type or cfn-lint's schemas change:
    # run `python -m battleshiper_cli.handler_permissions`.
    assert hp.SNAPSHOT.read_text() == hp.render_snapshot(hp.snapshot_types())


def test_project_stack_role_holds_the_project_templates_handler_permissions(
    platform: dict[str, Any], project: dict[str, Any]
) -> None:
    statements = list(role_statements(platform, ids.PROJECT_STACK_ROLE))
    needed = hp.union(hp.template_permissions(project))
    missing = [a for a in needed if a not in WITHHELD_HANDLER_PERMISSIONS and not allowing(statements, a)]
    assert missing == []


def test_withheld_handler_permissions_are_needed_by_a_schema_and_not_granted(
    platform: dict[str, Any], project: dict[str, Any]
) -> None:
    statements = list(role_statements(platform, ids.PROJECT_STACK_ROLE))
    needed = set(hp.union(hp.template_permissions(project)))
    for action, reason in WITHHELD_HANDLER_PERMISSIONS.items():
        assert action in needed, f"{action} is withheld but no handler lists it any more"
        assert reason
        assert allowing(statements, action) == [], action


def test_project_stack_role_holds_nothing_the_handlers_do_not_list(
    platform: dict[str, Any], project: dict[str, Any]
) -> None:
    needed = {a.lower() for a in hp.union(hp.template_permissions(project))}
    granted = [a for s in role_statements(platform, ids.PROJECT_STACK_ROLE) for a in s["Action"]]
    assert [a for a in granted if a.lower() not in needed] == []
