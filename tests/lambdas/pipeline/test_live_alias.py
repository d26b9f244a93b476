"""The pipeline alone owns a project function's `live` alias: the first go-live creates it, a failed
first go-live removes it again, and a project stack update (the template rolled forward) leaves it where
the last go-live or rollback put it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.pipeline import deploy
from lambdas.shared import names, releases
from lambdas.shared.builds import trigger_build
from lambdas.shared.deps import Deps
from lambdas.shared.names import ProjectStackParams
from templates.config import PlatformConfig, placeholder_artifacts
from templates.project import build_project_template
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import (
    ARTIFACTS_BUCKET,
    BUILD_BUCKET,
    QUEUE_ARN,
    STACK,
    batch_event,
    output_archive,
    server_zip,
)
from tests.lambdas.pipeline.test_faults import FaultyRoutes

FUNCTION = names.Names(STACK).project_function("shop")
STACK_NAME = names.Names(STACK).project_stack("shop")


def has_live(world: World) -> bool:
    try:
        world.deps.lambda_.get_alias(FunctionName=FUNCTION, Name=names.LIVE_ALIAS)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "ResourceNotFoundException"
        return False
    return True


def build_and_deploy(world: World, server: str = "export const handler = async () => ({statusCode: 200});",
                     job: str = "job-1", function: Deps | None = None) -> str:
    deps = world.deps
    project = deps.store.projects.get(name="shop")
    assert project
    deployment = trigger_build(world.api, project, triggered_by="101").deployment_id
    deps.s3.put_object(
        Bucket=BUILD_BUCKET,
        Key=names.build_output_key("shop", deployment),
        Body=output_archive(server=server_zip(server)),
    )
    deploy.deploy_event(function or world.deploy, batch_event("shop", deployment, job_id=job))
    return deployment


def function_version(world: World, deployment: str) -> str:
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=deployment)
    assert record and record.function_version
    return record.function_version


def test_the_first_deploy_creates_live(world: World) -> None:
    world.add_project()
    assert not has_live(world)

    first = build_and_deploy(world)

    assert world.live_alias() == function_version(world, first)
    assert world.routes.get(names.live_key("shop")) == first


def test_a_failed_first_go_live_removes_live_again_and_the_retry_creates_it(world: World) -> None:
    world.add_project()
    faulty = FaultyRoutes(world.routes, names.LIVE_KEY_PREFIX)
    function = world.deploy
    function.routes = faulty

    with pytest.raises(RuntimeError):
        build_and_deploy(world, function=function)

    assert not has_live(world)
    assert names.live_key("shop") not in world.routes.data
    faulty.armed = False
    (deployment,) = world.deps.store.deployments.query(project_name="shop")
    deploy.deploy_event(world.deploy, batch_event("shop", deployment.deployment_id))
    assert world.live_alias() == function_version(world, deployment.deployment_id)


def server_part(config: PlatformConfig) -> dict[str, Any]:
    """The real project template's server function with every Lambda resource it declares (moto cannot
    run the build part of it)."""
    template = json.loads(build_project_template(config).to_json())
    resources = {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"].startswith("AWS::Lambda::") or k in ("ServerFunctionRole", "ServerLogGroup")
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": template["Parameters"],
            "Resources": resources}


def stack_parameters(server_key: str) -> list[dict[str, str]]:
    p = ProjectStackParams
    values = {
        p.PROJECT_NAME: "shop",
        p.EVENT_BUS_NAME: names.Names(STACK).bus,
        p.BUILD_QUEUE_ARN: QUEUE_ARN,
        p.BUILD_BUCKET: BUILD_BUCKET,
        p.BOUNDARY_ARN: "arn:aws:iam::123456789012:policy/boundary",
        p.DEAD_LETTER_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:dlq",
        p.SERVER_CODE_BUCKET: ARTIFACTS_BUCKET,
        p.SERVER_CODE_KEY: server_key,
        p.CONFIG_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-4909-8807-060504030201",
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def test_a_project_stack_update_after_a_rollback_leaves_live_where_the_rollback_put_it(world: World) -> None:
    deps = world.deps
    world.add_project(with_function=False)
    deps.logs.delete_log_group(logGroupName=names.Names(STACK).project_log_group("shop", "server"))
    for key in ("project-server/1.zip", "project-server/2.zip"):
        deps.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=server_zip("placeholder"))
    config = PlatformConfig(stack_name=STACK, artifacts=placeholder_artifacts())
    deps.cloudformation.create_stack(
        StackName=STACK_NAME, TemplateBody=json.dumps(server_part(config)),
        Parameters=stack_parameters("project-server/1.zip"), Capabilities=["CAPABILITY_IAM"],
    )

    first = build_and_deploy(world, "export const handler = async () => ({statusCode: 201});")
    time.sleep(1.05)  # deployment ids sort by second
    second = build_and_deploy(world, "export const handler = async () => ({statusCode: 202});", "job-2")
    assert world.live_alias() == function_version(world, second)
    project = deps.store.projects.get(name="shop")
    assert project
    assert releases.rollback(world.api, project, first).deployment_id == first
    first_code = deps.lambda_.get_function(FunctionName=FUNCTION, Qualifier=function_version(world, first))
    sha = first_code["Configuration"]["CodeSha256"]

    # `battleshiper update`: a new template (another function configuration) and new placeholder code.
    rolled = PlatformConfig(stack_name=STACK, artifacts=placeholder_artifacts(), node_runtime="nodejs24.x")
    deps.cloudformation.update_stack(
        StackName=STACK_NAME, TemplateBody=json.dumps(server_part(rolled)),
        Parameters=stack_parameters("project-server/2.zip"), Capabilities=["CAPABILITY_IAM"],
    )
    assert deps.cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )
    assert deps.lambda_.get_function(FunctionName=FUNCTION)["Configuration"]["Runtime"] == "nodejs24.x"

    assert world.live_alias() == function_version(world, first)
    served = deps.lambda_.get_function(FunctionName=FUNCTION, Qualifier=names.LIVE_ALIAS)
    assert served["Configuration"]["CodeSha256"] == sha
    assert world.routes.get(names.live_key("shop")) == first
    kinds = {
        r["ResourceType"]
        for r in deps.cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
    }
    assert not kinds & {"AWS::Lambda::Version", "AWS::Lambda::Alias"}
