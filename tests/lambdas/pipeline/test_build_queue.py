"""One running build per project: a newer request waits, the newest waiting one supersedes older ones,
and a finished build (succeeded or failed) starts the waiting one. Through the API's and the deploy
function's own wiring (IAM enforced)."""

from __future__ import annotations

import time

from lambdas.pipeline import deploy
from lambdas.shared import build_queue, names
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import DeploymentStatus
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import BUILD_BUCKET, batch_event, output_archive


def build(world: World) -> str:
    project = world.deps.store.projects.get(name="shop")
    assert project
    deployment = trigger_build(world.api, project, triggered_by="101").deployment_id
    time.sleep(1.05)  # deployment ids sort by second
    return deployment


def status(world: World, deployment: str) -> DeploymentStatus:
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=deployment)
    assert record
    return record.status


def started(world: World) -> list[str]:
    return [m["detail"][names.BUILD_EXECUTION_FIELD] for m in world.build_messages()]


def test_pushes_during_a_build_wait_and_only_the_newest_waiting_one_builds(world: World) -> None:
    world.add_project()
    first = build(world)
    assert started(world) == [first] and status(world, first) == DeploymentStatus.BUILDING

    second, third = build(world), build(world)
    assert started(world) == []  # nothing else reaches the build queue while the first one runs
    assert status(world, third) == DeploymentStatus.QUEUED
    canceled = world.deps.store.deployments.get(project_name="shop", deployment_id=second)
    assert canceled and canceled.status == DeploymentStatus.CANCELED
    assert canceled.reason == f"superseded by the newer build {third}"

    world.deps.s3.put_object(
        Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", first), Body=output_archive()
    )
    deploy.deploy_event(world.deploy, batch_event("shop", first))
    assert started(world) == [third] and status(world, third) == DeploymentStatus.BUILDING
    assert status(world, first) == DeploymentStatus.LIVE
    project = world.deps.store.projects.get(name="shop")
    assert project and project.build_slot == third and project.queued_build is None

    # The event delivered again starts nothing twice.
    deploy.deploy_event(world.deploy, batch_event("shop", first))
    assert started(world) == []


def test_a_failed_build_hands_the_slot_to_the_waiting_one(world: World) -> None:
    world.add_project()
    first, second = build(world), build(world)
    assert started(world) == [first]
    deploy.deploy_event(world.deploy, batch_event("shop", first, status="FAILED", reason="exit 1"))
    assert status(world, first) == DeploymentStatus.FAILED
    assert started(world) == [second] and status(world, second) == DeploymentStatus.BUILDING
    deploy.deploy_event(world.deploy, batch_event("shop", second, status="FAILED", job_id="job-2"))
    project = world.deps.store.projects.get(name="shop")
    assert project and project.build_slot is None and project.queued_build is None
    assert build(world) and len(started(world)) == 1  # the next push builds at once


def test_a_build_that_never_reports_back_frees_the_slot_when_it_expires(world: World) -> None:
    world.add_project()
    lost = build(world)
    assert started(world) == [lost]
    later = world.platform.deps(
        "lambdas.api.resource.handler", now=lambda: time.time() + build_queue.SLOT_SECONDS + 1
    )
    project = world.deps.store.projects.get(name="shop")
    assert project
    fresh = trigger_build(later, project, triggered_by="101").deployment_id
    assert started(world) == [fresh]


def test_builds_of_other_projects_do_not_wait_for_each_other(world: World) -> None:
    world.add_project()
    world.add_project("blog")
    shop = build(world)
    blog_project = world.deps.store.projects.get(name="blog")
    assert blog_project
    blog = trigger_build(world.api, blog_project, triggered_by="101").deployment_id
    assert sorted(started(world)) == sorted([shop, blog])
