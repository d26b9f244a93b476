"""The pipeline subsystem as rendered in the platform template: who triggers what, what the pipeline
functions and the project stack role may do, and how builds are isolated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from battleshiper_cli.handler_permissions import schema_permissions
from lambdas.shared import names
from lambdas.shared.models import Limits
from lambdas.shared.names import Env, Names
from templates import build_network, ids
from templates.config import PlatformConfig
from templates.parameters import PARAM_BUILD_ZONES
from tests.support.intrinsics import Evaluator

NAMES = Names()
FUNCTIONS = {
    "init": "PipelineInitFunction",
    "deploy": "PipelineDeployFunction",
    "delete": "PipelineDeleteFunction",
}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(template: dict[str, Any], role_id: str) -> Iterator[dict[str, Any]]:
    resource = template["Resources"][role_id]["Properties"]
    documents = [p["PolicyDocument"] for p in resource.get("Policies", [])]
    if "PolicyDocument" in resource:
        documents.append(resource["PolicyDocument"])
    for document in documents:
        yield from document["Statement"]


def grants(template: dict[str, Any], role_id: str, action: str) -> list[Any]:
    """Every resource `role_id` may use `action` on."""
    return [
        r
        for s in statements(template, role_id)
        if s["Effect"] == "Allow" and action in s["Action"]
        for r in s["Resource"]
    ]


def role_of(template: dict[str, Any], function_id: str) -> str:
    role: str = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return role


@pytest.mark.parametrize(
    ("role", "bus", "pattern"),
    [
        ("init", True, {"source": [names.EVENT_SOURCE], "detail-type": [names.INIT_DETAIL_TYPE]}),
        ("delete", True, {"source": [names.EVENT_SOURCE], "detail-type": [names.DELETE_DETAIL_TYPE]}),
        (
            "deploy",
            False,
            {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "detail": {"jobQueue": [{"Ref": ids.BUILD_QUEUE}], "status": ["SUCCEEDED", "FAILED"]},
            },
        ),
    ],
)
def test_each_event_reaches_its_function_and_failures_are_kept(
    platform: dict[str, Any], role: str, bus: bool, pattern: dict[str, Any]
) -> None:
    function_id = FUNCTIONS[role]
    function = platform["Resources"][function_id]["Properties"]
    assert function["Handler"] == f"lambdas.pipeline.{role}.handler"
    assert function["Timeout"] == 900
    rule_id, rule = next(
        (k, r)
        for k, r in of_type(platform, "AWS::Events::Rule").items()
        if r["Targets"][0]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    )
    assert rule["EventPattern"] == pattern
    # Batch reports on the default bus; our own events travel on the pipeline bus.
    assert rule.get("EventBusName") == ({"Fn::GetAtt": [ids.EVENT_BUS, "Name"]} if bus else None)
    target = rule["Targets"][0]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [ids.PIPELINE_DLQ, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    (permission,) = [
        p
        for p in of_type(platform, "AWS::Lambda::Permission").values()
        if p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permission["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"
    (invoke,) = [
        c
        for c in of_type(platform, "AWS::Lambda::EventInvokeConfig").values()
        if c["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [ids.PIPELINE_DLQ, "Arn"]
    }


def test_pipeline_functions_touch_only_project_stacks(platform: dict[str, Any]) -> None:
    stacks = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:"
        f"stack/{NAMES.project_stack_prefix}*/*"
    }
    # Init creates (and recreates) stacks, delete deletes them, deploy never touches one: only init
    # passes the service role, and nothing may update a stack behind `battleshiper update`.
    expected = {"init": {"CreateStack", "DeleteStack"}, "deploy": set(), "delete": {"DeleteStack"}}
    for role, function_id in FUNCTIONS.items():
        role_id = role_of(platform, function_id)
        cloudformation = [
            (a, r)
            for s in statements(platform, role_id)
            for a in s["Action"]
            if a.startswith("cloudformation:")
            for r in s["Resource"]
        ]
        assert all(r == stacks for _, r in cloudformation), role
        writes = {a.split(":")[1] for a, _ in cloudformation if not a.split(":")[1].startswith("Describe")}
        assert writes - {"TagResource"} == expected[role], role
        passed = grants(platform, role_id, "iam:PassRole")
        assert passed == ([{"Fn::GetAtt": [ids.PROJECT_STACK_ROLE, "Arn"]}] if role == "init" else []), role


def test_deploy_prunes_versions_but_cannot_delete_a_project_function(platform: dict[str, Any]) -> None:
    role_id = role_of(platform, FUNCTIONS["deploy"])
    (resource,) = grants(platform, role_id, "lambda:DeleteFunction")
    assert resource["Fn::Sub"].endswith(f"function:{NAMES.project_function_prefix}*:*")
    assert grants(platform, role_id, "lambda:PublishVersion")
    # Deploy reads users, never writes them (reference defect 17).
    assert ids.USERS_TABLE in json.dumps(grants(platform, role_id, "dynamodb:GetItem"))
    assert ids.USERS_TABLE not in json.dumps(grants(platform, role_id, "dynamodb:UpdateItem"))


# The Lambda calls each pipeline function makes (lambdas/pipeline, lambdas/shared/releases): deploy
# updates the code (and waits with GetFunction), publishes, creates or moves aliases and prunes.
LAMBDA_CALLS = {
    "init": set(),
    "deploy": {"GetFunction", "UpdateFunctionCode", "PublishVersion", "GetAlias", "CreateAlias",
               "UpdateAlias", "DeleteAlias", "DeleteFunction", "PutFunctionConcurrency"},
    "delete": set(),
}


def test_pipeline_functions_may_make_exactly_the_lambda_calls_they_make(platform: dict[str, Any]) -> None:
    functions = f"function:{NAMES.project_function_prefix}*"
    for role, function_id in FUNCTIONS.items():
        granted = [
            (a.removeprefix("lambda:"), r)
            for s in statements(platform, role_of(platform, function_id))
            if s["Effect"] == "Allow"
            for a in s["Action"]
            if a.startswith("lambda:")
            for r in s["Resource"]
        ]
        assert {a for a, _ in granted} == LAMBDA_CALLS[role], role
        assert all(r["Fn::Sub"].endswith((functions, f"{functions}:*")) for _, r in granted), role


def test_pipeline_functions_know_where_things_are(platform: dict[str, Any], config: PlatformConfig) -> None:
    for function_id in FUNCTIONS.values():
        env = platform["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert env[Env.PROJECT_TEMPLATE_KEY] == config.artifact("project-template").key
        assert env[Env.PROJECT_TEMPLATE_HASH] == config.artifact("project-template").sha256
        assert env[Env.PROJECT_SERVER_KEY] == config.artifact("project-server").key
        assert env[Env.BUILD_QUEUE_ARN] == {"Ref": ids.BUILD_QUEUE}
        assert env[Env.PROJECT_STACK_ROLE_ARN] == {"Fn::GetAtt": [ids.PROJECT_STACK_ROLE, "Arn"]}
        assert env[Env.PROJECT_BOUNDARY_ARN] == {"Ref": ids.PROJECT_BOUNDARY}
        assert env[Env.KEEP_DEPLOYMENTS] == str(config.keep_deployments)
        assert env[Env.EVENT_BUS] == {"Fn::GetAtt": [ids.EVENT_BUS, "Name"]}


def test_project_stack_role_cannot_create_a_role_without_the_boundary(platform: dict[str, Any]) -> None:
    role = platform["Resources"][ids.PROJECT_STACK_ROLE]["Properties"]
    assert "ManagedPolicyArns" not in role
    path_roles = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{NAMES.project_role_path}*"
    }
    for statement in statements(platform, ids.PROJECT_STACK_ROLE):
        escalating = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"} & set(
            statement["Action"]
        )
        if escalating:
            assert statement["Resource"] == [path_roles]
            assert statement["Condition"] == {
                "StringEquals": {"iam:PermissionsBoundary": {"Ref": ids.PROJECT_BOUNDARY}}
            }
        if any(a.startswith("iam:") for a in statement["Action"]):
            assert statement["Resource"] == [path_roles]
        assert not {"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"} & set(
            statement["Action"]
        )


def test_project_stack_role_reaches_only_project_named_resources(platform: dict[str, Any]) -> None:
    prefixes = (
        NAMES.project_role_path,
        NAMES.project_log_group_prefix,
        NAMES.job_definition_prefix,
        f"{NAMES.bus}/{NAMES.project_build_rule_prefix}",
        NAMES.project_function_prefix,
        "${ArtifactsBucket}",
        "${Bucket}",
    )
    for statement in statements(platform, ids.PROJECT_STACK_ROLE):
        for resource in statement["Resource"]:
            text = json.dumps(resource)
            assert resource == "*" or any(p in text for p in prefixes), text


def test_project_stack_role_registers_only_project_job_definitions(platform: dict[str, Any]) -> None:
    job_definitions = {
        "Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:"
        f"job-definition/{NAMES.job_definition_prefix}*"  # revisions (`<name>:3`) included
    }
    for action in ("batch:RegisterJobDefinition", "batch:DeregisterJobDefinition"):
        assert grants(platform, ids.PROJECT_STACK_ROLE, action) == [job_definitions], action


def test_project_stack_role_passes_project_roles_only_to_their_services(
    platform: dict[str, Any], project: dict[str, Any]
) -> None:
    # The services the project template's roles are made for (their trust policies).
    trusted = sorted(
        service
        for role in of_type(project, "AWS::IAM::Role").values()
        for statement in role["AssumeRolePolicyDocument"]["Statement"]
        for service in statement["Principal"]["Service"]
    )
    assert set(trusted) == {"lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "events.amazonaws.com"}
    passing = [s for s in statements(platform, ids.PROJECT_STACK_ROLE) if "iam:PassRole" in s["Action"]]
    assert passing == [{
        "Action": ["iam:PassRole"],
        "Condition": {"StringEquals": {"iam:PassedToService": sorted(set(trusted))}},
        "Effect": "Allow",
        "Resource": [
            {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{NAMES.project_role_path}*"}
        ],
    }]


def test_project_stack_role_updates_trust_policies_only_of_project_roles(platform: dict[str, Any]) -> None:
    # Granted only because the IAM::Role update handler lists it (trust policy changes).
    assert "iam:UpdateAssumeRolePolicy" in schema_permissions("AWS::IAM::Role")
    assert grants(platform, ids.PROJECT_STACK_ROLE, "iam:UpdateAssumeRolePolicy") == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{NAMES.project_role_path}*"}
    ]


def test_boundary_allows_no_more_than_project_roles_need(platform: dict[str, Any]) -> None:
    boundary = platform["Resources"][ids.PROJECT_BOUNDARY]["Properties"]
    assert boundary["ManagedPolicyName"] == NAMES.project_boundary_policy
    actions = {a for s in boundary["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:PutObject",
        "batch:SubmitJob",
        "kms:Decrypt",
    }
    assert "*" not in [r for s in boundary["PolicyDocument"]["Statement"] for r in s["Resource"]]
    # The platform key opens project configuration only, never a user's GitHub token (issue 14).
    (kms,) = [s for s in boundary["PolicyDocument"]["Statement"] if s["Action"] == ["kms:Decrypt"]]
    assert kms["Condition"] == {"Null": {"kms:EncryptionContext:battleshiper:project": "false"}}


def test_build_queue_prefers_spot_and_falls_back_to_on_demand(
    platform: dict[str, Any], config: PlatformConfig
) -> None:
    queue = platform["Resources"][ids.BUILD_QUEUE]["Properties"]
    environments = of_type(platform, "AWS::Batch::ComputeEnvironment")
    order = sorted(queue["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
    types = [environments[o["ComputeEnvironment"]["Ref"]]["ComputeResources"]["Type"] for o in order]
    assert types == ["FARGATE_SPOT", "FARGATE"]
    for environment in environments.values():
        assert environment["ComputeResources"]["MaxvCpus"] == config.build_max_vcpus
        assert len(environment["ComputeResources"]["Subnets"]) == 3
    (action,) = queue["JobStateTimeLimitActions"]
    assert action["Action"] == "CANCEL" and action["State"] == "RUNNABLE"
    assert action["Reason"].startswith(("CAPACITY:", "MISCONFIGURATION:"))


def test_build_network_allows_no_ingress_and_little_egress(platform: dict[str, Any]) -> None:
    (group,) = [
        g
        for g in of_type(platform, "AWS::EC2::SecurityGroup").values()
        if g.get("GroupName") == NAMES.build_security_group
    ]
    assert "SecurityGroupIngress" not in group
    egress = {
        (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]
    }
    assert egress == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("udp", 53, 53, build_network.VPC_RESOLVER),
        ("tcp", 53, 53, build_network.VPC_RESOLVER),
    }
    route = platform["Resources"]["BuildInternetRoute"]
    assert route["DependsOn"] == "BuildGatewayAttachment"
    subnets = [s for k, s in of_type(platform, "AWS::EC2::Subnet").items() if k.startswith("Build")]
    assert sorted(s["AvailabilityZone"]["Fn::Select"][0] for s in subnets) == [0, 1, 2]
    assert all(s["MapPublicIpOnLaunch"] is False for s in subnets)


@pytest.mark.parametrize(
    "zones", [["us-west-1a", "us-west-1c"], ["eu-central-1a", "eu-central-1b", "eu-central-1c"]]
)
def test_build_subnets_are_in_the_chosen_zones_and_batch_uses_exactly_those(
    platform: dict[str, Any], zones: list[str]
) -> None:
    deployed = Evaluator(platform, {PARAM_BUILD_ZONES: zones})
    subnets = deployed.resources("AWS::EC2::Subnet")
    assert [subnets[k]["AvailabilityZone"] for k in sorted(subnets)] == zones
    associations = deployed.resources("AWS::EC2::SubnetRouteTableAssociation").values()
    assert sorted(a["SubnetId"] for a in associations) == sorted(subnets)
    environments = deployed.resources("AWS::Batch::ComputeEnvironment")
    assert len(environments) == 2
    for environment in environments.values():
        assert sorted(environment["ComputeResources"]["Subnets"]) == sorted(subnets)


def test_build_assets_expire_after_a_day_and_are_private(platform: dict[str, Any]) -> None:
    bucket = platform["Resources"][ids.BUILD_BUCKET]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 1
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]


def test_platform_outputs_what_the_cli_and_init_need(platform: dict[str, Any]) -> None:
    assert platform["Outputs"][ids.OUTPUT_BUILD_BUCKET]["Value"] == {"Ref": ids.BUILD_BUCKET}
    assert platform["Outputs"][ids.OUTPUT_PROJECT_STACK_ROLE]["Value"] == {
        "Fn::GetAtt": [ids.PROJECT_STACK_ROLE, "Arn"]
    }


def test_the_deploy_function_has_room_on_disk_for_the_outputs_it_extracts(platform: dict[str, Any]) -> None:
    resources = platform["Resources"]
    storage = resources[FUNCTIONS["deploy"]]["Properties"]["EphemeralStorage"]["Size"]
    assert storage == 10240  # Lambda's most: quotas are set at run time
    defaults = Limits()
    assert defaults.client_storage + defaults.prerender_storage + defaults.server_storage < storage * 2**20
    # Only the deploy extracts build outputs.
    assert "EphemeralStorage" not in resources[FUNCTIONS["init"]]["Properties"]
