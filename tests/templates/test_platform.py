"""Whole-template checks: cfn-lint, the reference inventory, and the security structure every
function, policy and bucket must have."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import lint

from templates.common import WILDCARD_WRITE_ACTIONS

READ_VERBS = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "Lookup", "Search", "Filter", "Head")

# The reference platform's resources by type (infrastructure.md §2.1, plain CloudFormation): each
# has a counterpart here, at least as many.
REFERENCE_INVENTORY = {
    "AWS::IAM::Role": 14,
    "AWS::Lambda::Function": 12,
    "AWS::Lambda::Permission": 10,
    "AWS::Events::Rule": 3,
    "AWS::ApiGatewayV2::Api": 2,
    "AWS::ApiGatewayV2::Stage": 2,
    "AWS::ApiGatewayV2::Route": 7,
    "AWS::ApiGatewayV2::Integration": 7,
    "AWS::Lambda::Version": 1,
    "AWS::Lambda::Alias": 1,
    "AWS::CodeDeploy::Application": 1,
    "AWS::CodeDeploy::DeploymentGroup": 1,
    "AWS::CloudFront::CachePolicy": 3,
    "AWS::S3::Bucket": 3,
    "AWS::S3::BucketPolicy": 2,
    "AWS::Logs::LogGroup": 3,
    "AWS::DynamoDB::Table": 3,
    "AWS::EC2::Subnet": 3,
    "AWS::EC2::SubnetRouteTableAssociation": 3,
    "AWS::SecretsManager::Secret": 2,
    "AWS::CloudFront::OriginRequestPolicy": 2,
    "AWS::CloudFront::OriginAccessControl": 2,
    "AWS::CloudFront::Distribution": 2,
    "AWS::CloudFront::Function": 2,
    "AWS::CloudFront::KeyValueStore": 1,
    "AWS::EC2::VPC": 1,
    "AWS::EC2::InternetGateway": 1,
    "AWS::EC2::VPCGatewayAttachment": 1,
    "AWS::EC2::RouteTable": 1,
    "AWS::EC2::Route": 1,
    "AWS::EC2::SecurityGroup": 1,
    "AWS::Events::EventBus": 1,
    "AWS::Batch::ComputeEnvironment": 1,
    "AWS::Batch::JobQueue": 1,
}

# Every function of the reference has its counterpart, found by handler.
PLATFORM_HANDLERS = {
    "lambdas.api.auth.handler",
    "lambdas.api.user.handler",
    "lambdas.api.resource.handler",
    "lambdas.api.admin.handler",
    "lambdas.api.webhook.handler",
    "lambdas.router.handler.handler",
    "lambdas.pipeline.init.handler",
    "lambdas.pipeline.deploy.handler",
    "lambdas.pipeline.delete.handler",
    "lambdas.hooks.pre_traffic.handler",
    "lambdas.hooks.post_traffic.handler",
    "index.handler",  # the dashboard server
}


# Commercial regions an operator may install into (CloudFront resource types do not exist in the
# China and GovCloud partitions, which the platform does not support).
LINT_REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-2"]


def lint_errors(template: dict[str, Any]) -> list[str]:
    matches = lint(json.dumps(template), regions=LINT_REGIONS)
    return [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id.startswith("E")
    ]


def resources(template: dict[str, Any], type_: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == type_:
            yield logical_id, resource


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("which", ["platform", "project"])
def test_templates_pass_cfn_lint(which: str, request: pytest.FixtureRequest) -> None:
    assert lint_errors(request.getfixturevalue(which)) == []


def test_platform_holds_the_reference_inventory(platform: dict[str, Any]) -> None:
    counts = Counter(r["Type"] for r in platform["Resources"].values())
    missing = {t: (n, counts[t]) for t, n in REFERENCE_INVENTORY.items() if counts[t] < n}
    assert missing == {}, "resource type: (reference count, ours)"


def test_every_reference_function_has_a_counterpart(platform: dict[str, Any]) -> None:
    handlers = {r["Properties"]["Handler"] for _, r in resources(platform, "AWS::Lambda::Function")}
    assert handlers >= PLATFORM_HANDLERS


@pytest.mark.parametrize("which", ["platform", "project"])
def test_every_function_has_its_own_role_and_log_group(which: str, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(which)
    roles_seen: set[str] = set()
    for logical_id, function in resources(template, "AWS::Lambda::Function"):
        props = function["Properties"]
        role = props["Role"]["Fn::GetAtt"][0]
        assert template["Resources"][role]["Type"] == "AWS::IAM::Role", logical_id
        assert role not in roles_seen, f"{logical_id} shares role {role}"
        roles_seen.add(role)
        group = props["LoggingConfig"]["LogGroup"]
        assert isinstance(group, dict) and "Ref" in group, logical_id
        assert template["Resources"][group["Ref"]]["Type"] == "AWS::Logs::LogGroup", logical_id
        assert template["Resources"][group["Ref"]]["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("which", ["platform", "project"])
def test_no_wildcard_resource_on_write_actions(which: str, request: pytest.FixtureRequest) -> None:
    offenders = []
    for logical_id, statement in policy_statements(request.getfixturevalue(which)):
        if statement["Effect"] != "Allow" or "*" not in as_list(statement.get("Resource", [])):
            continue
        for action in as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            if "*" in action or not (verb.startswith(READ_VERBS) or action in WILDCARD_WRITE_ACTIONS):
                offenders.append((logical_id, action))
    assert offenders == []


@pytest.mark.parametrize("which", ["platform", "project"])
def test_no_full_access_or_admin_managed_policies(which: str, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(which)
    for logical_id, role in resources(template, "AWS::IAM::Role"):
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            text = json.dumps(arn)
            assert "FullAccess" not in text and "AdministratorAccess" not in text, logical_id


def test_bucket_policies_carry_a_source_condition_and_require_tls(platform: dict[str, Any]) -> None:
    policies = list(resources(platform, "AWS::S3::BucketPolicy"))
    assert len(policies) >= 2
    for logical_id, policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        for statement in statements:
            if statement["Effect"] == "Allow":
                condition = json.dumps(statement.get("Condition", {})).lower()
                assert "aws:sourcearn" in condition or "aws:sourceaccount" in condition, logical_id
        assert any(
            s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition", {}))
            for s in statements
        ), logical_id


def test_parameters_are_validated(platform: dict[str, Any]) -> None:
    for name, parameter in platform["Parameters"].items():
        assert parameter.get("AllowedPattern"), name
        assert parameter.get("ConstraintDescription"), name
