"""The per-project stack template: what a project's build and server may do, and how a build starts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from battleshiper_cli.local.iam.actions import Where, requests_for
from battleshiper_cli.local.iam.policy import Policy, evaluate
from lambdas.shared import names
from lambdas.shared.names import MAX_PROJECT_NAME, MAX_STACK_NAME, Names, ProjectStackParams
from templates.config import PlatformConfig, placeholder_artifacts
from templates.project import build_project_template
from tests.support.pipeline_env import Deployed

LONG_STACK = "s" + "x" * (MAX_STACK_NAME - 2) + "k"
LONG_PROJECT = "p" + "y" * (MAX_PROJECT_NAME - 2) + "q"
# Batch exit-condition patterns: letters, digits, periods, colons, white space, optionally a final `*`.
EXIT_PATTERN = re.compile(r"^[A-Za-z0-9.: \t]*\*?$")


def render(stack: str = names.DEFAULT_STACK_NAME) -> dict[str, Any]:
    config = PlatformConfig(stack_name=stack, artifacts=placeholder_artifacts())
    rendered: dict[str, Any] = json.loads(build_project_template(config).to_json())
    return rendered


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return render()


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


def substitute(value: Any, project: str) -> str:
    """A `Fn::Sub` name as CloudFormation would resolve it for `project`."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str)
    return text.replace("${" + ProjectStackParams.PROJECT_NAME + "}", project)


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_project_template_passes_cfn_lint(template: dict[str, Any], region: str) -> None:
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")] == []


def test_every_project_role_carries_the_boundary_and_the_project_path(template: dict[str, Any]) -> None:
    roles = of_type(template, "AWS::IAM::Role")
    assert set(roles) == {"BuildJobExecutionRole", "BuildJobRole", "BuildRuleRole", "ServerFunctionRole"}
    for logical_id, role in roles.items():
        assert role["Path"] == Names().project_role_path, logical_id
        assert role["PermissionsBoundary"] == {"Ref": ProjectStackParams.BOUNDARY_ARN}, logical_id
        assert "RoleName" not in role, logical_id  # generated names never overflow (reference defect 36)
        assert "ManagedPolicyArns" not in role, logical_id


def test_build_job_may_only_read_its_specs_and_write_its_outputs(template: dict[str, Any]) -> None:
    (policy,) = of_type(template, "AWS::IAM::Role")["BuildJobRole"]["Policies"]
    grants = {
        s["Action"][0]: [substitute(r, "shop") for r in s["Resource"]]
        for s in policy["PolicyDocument"]["Statement"]
    }
    bucket = "arn:${AWS::Partition}:s3:::${BuildBucket}"
    assert grants == {
        "s3:GetObject": [f"{bucket}/{names.build_spec_key('shop', '*')}"],
        "s3:PutObject": [f"{bucket}/{names.build_output_key('shop', '*')}"],
    }


def test_build_rule_hands_the_job_only_the_execution_id(template: dict[str, Any]) -> None:
    rule = of_type(template, "AWS::Events::Rule")["BuildRule"]
    (target,) = rule["Targets"]
    assert "Input" not in target and "InputPath" not in target
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"execution": f"$.detail.{names.BUILD_EXECUTION_FIELD}"}
    job_input = json.loads(transformer["InputTemplate"].replace("<execution>", '"exec-1"'))
    assert job_input == {
        "Parameters": {names.BUILD_EXECUTION_FIELD: "exec-1"},
        "ContainerOverrides": {"Environment": [{"Name": names.Env.EXECUTION_ID, "Value": "exec-1"}]},
    }
    assert "token" not in json.dumps(rule).lower()
    assert substitute(rule["EventPattern"]["detail-type"][0], "shop") == names.build_detail_type("shop")
    assert target["DeadLetterConfig"] == {"Arn": {"Ref": ProjectStackParams.DEAD_LETTER_QUEUE_ARN}}


def test_build_job_retries_lost_capacity_but_not_failed_builds(template: dict[str, Any]) -> None:
    job = of_type(template, "AWS::Batch::JobDefinition")["BuildJobDefinition"]
    strategy = job["RetryStrategy"]
    assert strategy["Attempts"] == 2
    *retries, last = strategy["EvaluateOnExit"]
    assert last == {"Action": "EXIT", "OnReason": "*"}
    reasons = [r["OnStatusReason"] for r in retries if r["Action"] == "RETRY"]
    assert "Host EC2*" in reasons and any("Spot" in r for r in reasons)
    for condition in strategy["EvaluateOnExit"]:
        for key in ("OnStatusReason", "OnReason"):
            assert EXIT_PATTERN.match(condition.get(key, "")), condition


def test_build_job_runs_on_fargate_arm64_within_the_configured_limits(template: dict[str, Any]) -> None:
    config = PlatformConfig(artifacts=placeholder_artifacts())
    job = of_type(template, "AWS::Batch::JobDefinition")["BuildJobDefinition"]
    container = job["ContainerProperties"]
    assert job["PlatformCapabilities"] == ["FARGATE"]
    assert container["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    assert job["Timeout"]["AttemptDurationSeconds"] == config.build_timeout_seconds
    assert {r["Type"]: r["Value"] for r in container["ResourceRequirements"]} == {
        "VCPU": f"{config.build_vcpus:g}",
        "MEMORY": str(config.build_memory_mib),
    }
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "BuildLogGroup"}
    assert "Ref::" not in json.dumps(container["Command"])  # Batch would substitute it
    env = {e["Name"] for e in container["Environment"]}
    assert {names.Env.BUILD_BUCKET, names.Env.PROJECT} <= env


def test_build_job_runs_the_users_commands_as_an_unprivileged_user(template: dict[str, Any]) -> None:
    container = of_type(template, "AWS::Batch::JobDefinition")["BuildJobDefinition"]["ContainerProperties"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    uid, gid = (int(n) for n in env[names.Env.BUILD_USER].split(":"))
    assert uid > 0 and gid > 0  # the container itself starts as root, which the runner needs to switch
    assert "User" not in container


def test_build_image_is_operator_controlled(template: dict[str, Any]) -> None:
    config = PlatformConfig(artifacts=placeholder_artifacts())
    parameter = template["Parameters"][ProjectStackParams.BUILD_IMAGE]
    assert parameter["AllowedValues"] == [config.build_image]


def test_server_function_has_no_stack_owned_version_or_live_alias(template: dict[str, Any]) -> None:
    function = of_type(template, "AWS::Lambda::Function")["ServerFunction"]
    assert function["Handler"] == "index.handler" and function["Architectures"] == ["arm64"]
    assert function["Code"] == {
        "S3Bucket": {"Ref": ProjectStackParams.SERVER_CODE_BUCKET},
        "S3Key": {"Ref": ProjectStackParams.SERVER_CODE_KEY},
    }
    # The pipeline owns versions and `live`: a stack update must not move what serves.
    assert of_type(template, "AWS::Lambda::Version") == {}
    assert of_type(template, "AWS::Lambda::Alias") == {}
    (policy,) = of_type(template, "AWS::IAM::Role")["ServerFunctionRole"]["Policies"]
    assert json.dumps(policy).count("log-group") == 1 and "ServerLogGroup" in json.dumps(policy)


def test_project_name_parameter_follows_the_names_module(template: dict[str, Any]) -> None:
    parameter = template["Parameters"][ProjectStackParams.PROJECT_NAME]
    assert parameter["AllowedPattern"] == names.PROJECT_NAME_PATTERN
    assert parameter["MaxLength"] == MAX_PROJECT_NAME
    assert set(template["Parameters"]) == {
        v for k, v in vars(ProjectStackParams).items() if not k.startswith("_")
    }


def test_derived_names_are_valid_at_the_longest_stack_and_project_names() -> None:
    template = render(LONG_STACK)
    n = Names(LONG_STACK)
    limits = {  # resolved name -> (pattern, AWS limit)
        substitute(
            of_type(template, "AWS::Lambda::Function")["ServerFunction"]["FunctionName"], LONG_PROJECT
        ): (r"[A-Za-z0-9_-]+", 64),
        substitute(of_type(template, "AWS::Events::Rule")["BuildRule"]["Name"], LONG_PROJECT): (
            r"[A-Za-z0-9._-]+",
            64,
        ),
        substitute(
            of_type(template, "AWS::Batch::JobDefinition")["BuildJobDefinition"]["JobDefinitionName"],
            LONG_PROJECT,
        ): (r"[A-Za-z0-9_-]+", 128),
        substitute(
            of_type(template, "AWS::Events::Rule")["BuildRule"]["Targets"][0]["BatchParameters"]["JobName"],
            LONG_PROJECT,
        ): (r"[A-Za-z0-9_-]+", 128),
    }
    for group in of_type(template, "AWS::Logs::LogGroup").values():
        limits[substitute(group["LogGroupName"], LONG_PROJECT)] = (r"[A-Za-z0-9._/#-]+", 512)
    for name, (pattern, limit) in limits.items():
        assert re.fullmatch(pattern, name) and len(name) <= limit, name
    assert n.project_function(LONG_PROJECT) in limits
    assert n.project_build_rule(LONG_PROJECT) in limits
    assert n.job_definition(LONG_PROJECT) in limits
    assert n.project_log_group(LONG_PROJECT, "build") in limits


def test_the_server_function_opens_only_its_own_projects_configuration(template: dict[str, Any]) -> None:
    """Issue 14: the function's role may decrypt data keys of its own project's context, nothing else
    (the user's GitHub tokens have another context; another project's configuration, another value)."""
    key = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0b0a-4909-8807-060504030201"
    params = ProjectStackParams
    deployed = Deployed(template, {params.PROJECT_NAME: "shop", params.CONFIG_KEY_ARN: key})

    def resolved(node: Any) -> Any:
        if isinstance(node, list):
            return [resolved(v) for v in node]
        if isinstance(node, dict) and len(node) == 1 and next(iter(node)).startswith(("Ref", "Fn::")):
            return deployed.value(node)
        return {k: resolved(v) for k, v in node.items()} if isinstance(node, dict) else node

    role = of_type(template, "AWS::IAM::Role")["ServerFunctionRole"]
    policies = [Policy.from_document(p["PolicyName"], resolved(p["PolicyDocument"]))
                for p in role["Policies"]]

    def may_decrypt(context: dict[str, str], key_id: str = key) -> bool:
        params = {"KeyId": key_id, "CiphertextBlob": b"", "EncryptionContext": context}
        (request,) = requests_for("kms", "Decrypt", params, Where("eu-west-1", "123456789012"))
        return evaluate(request, policies).allowed

    assert may_decrypt({names.CONFIG_CONTEXT_KEY: "shop"})
    assert not may_decrypt({names.CONFIG_CONTEXT_KEY: "other"})
    assert not may_decrypt({"battleshiper:user": "583231"})
    assert not may_decrypt({})
    assert not may_decrypt({names.CONFIG_CONTEXT_KEY: "shop"}, key.replace("0f0e", "1f0e"))
