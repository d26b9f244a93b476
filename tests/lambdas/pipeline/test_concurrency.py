"""A project's server function is bounded by its owner's subscription (reserved concurrency), set by
the deploy through its own role; an account that cannot reserve it refuses the deploy with the reason
and keeps the live deployment serving."""

from __future__ import annotations

import time

from lambdas.pipeline import deploy
from lambdas.shared import names
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import DeploymentStatus
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import BUILD_BUCKET, STACK, batch_event, output_archive

FUNCTION = names.Names(STACK).project_function("shop")


def deploy_build(world: World) -> str:
    project = world.deps.store.projects.get(name="shop")
    assert project
    deployment = trigger_build(world.api, project, triggered_by="101").deployment_id
    world.deps.s3.put_object(
        Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", deployment), Body=output_archive()
    )
    deploy.deploy_event(world.deploy, batch_event("shop", deployment))
    time.sleep(1.05)  # deployment ids sort by second
    return deployment


def reserved(world: World) -> int | None:
    answer = world.deps.lambda_.get_function_concurrency(FunctionName=FUNCTION)
    return answer.get("ReservedConcurrentExecutions")


def test_each_deploy_reserves_the_subscriptions_concurrency(world: World) -> None:
    world.add_project(limits={"function_concurrency": 3})
    deploy_build(world)
    assert reserved(world) == 3

    # A changed subscription applies at the next deployment.
    basic = world.deps.store.subscriptions.get(id="basic")
    assert basic
    basic.limits.function_concurrency = 7
    world.deps.store.subscriptions.put(basic)
    deploy_build(world)
    assert reserved(world) == 7


def test_a_reservation_the_account_cannot_hold_refuses_the_deploy_and_keeps_live(world: World) -> None:
    world.add_project(limits={"function_concurrency": 5})
    live = deploy_build(world)

    basic = world.deps.store.subscriptions.get(id="basic")
    assert basic
    basic.limits.function_concurrency = 950  # 1000 in the account, 100 must stay unreserved
    world.deps.store.subscriptions.put(basic)
    refused = deploy_build(world)

    record = world.deps.store.deployments.get(project_name="shop", deployment_id=refused)
    assert record and record.status == DeploymentStatus.FAILED
    assert "cannot reserve 950 concurrent executions" in record.reason
    assert "function_concurrency" in record.reason
    project = world.deps.store.projects.get(name="shop")
    assert project and project.live_deployment == live
    assert world.routes.get(names.live_key("shop")) == live
    assert reserved(world) == 5
    assert any("cannot reserve 950" in line for line in world.log_lines("shop", "deploy"))
