"""Push -> build -> deploy -> live -> rollback -> delete, end to end against moto (the build itself is the
archive the build runner would upload)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from lambdas.api import webhook
from lambdas.pipeline import delete, deploy
from lambdas.shared import names, releases, tickets
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import DeploymentStatus
from tests.lambdas.pipeline.conftest import TICKET_KEY, World
from tests.lambdas.pipeline.support import BUILD_BUCKET, PROJECT_BUCKET, STACK, batch_event, output_archive

SECRET = "webhook-secret"


def push_request(after: str, delivery: str = "d-1") -> dict[str, object]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": after,
            "repository": {"id": 7, "full_name": "octo/shop"},
            "installation": {"id": 55},
        }
    )
    signature = "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "body": body,
        "isBase64Encoded": False,
        "headers": {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        },
    }


def finish_build(world: World, execution: str, **archive: object) -> None:
    world.deps.s3.put_object(
        Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", execution), Body=output_archive(**archive)
    )  # type: ignore[arg-type]


def test_push_builds_deploys_goes_live_rolls_back_and_deletes(world: World) -> None:
    deps = world.deps
    world.add_project()

    # Push: a build starts; the token is in the build spec only, the event carries the execution id.
    answer = webhook.handle(world.webhook, push_request("a" * 40), SECRET)
    assert answer["statusCode"] == 200
    first = json.loads(answer["body"])["builds"][0]["deployment"]
    spec = json.loads(
        deps.s3.get_object(Bucket=BUILD_BUCKET, Key=names.build_spec_key("shop", first))["Body"].read()
    )
    assert spec["token"] == world.issued_token() and spec["clone_url"] == "https://github.example/octo/shop.git"
    assert spec["commit"] == "a" * 40
    (message,) = world.build_messages()
    assert message["detail-type"] == names.build_detail_type("shop")
    assert message["detail"] == {names.BUILD_EXECUTION_FIELD: first}

    # The same delivery again changes nothing.
    again = webhook.handle(world.webhook, push_request("a" * 40), SECRET)
    assert json.loads(again["body"])["result"].startswith("duplicate")

    # The build finishes: the deployment goes live.
    finish_build(world, first)
    deploy.deploy_event(world.deploy, batch_event("shop", first))
    project = deps.store.projects.get(name="shop")
    assert (
        project
        and project.live_deployment == first
        and project.status.value == "LIVE"
        and project.lock is None
    )
    assert world.routes.get(names.live_key("shop")) == first
    assert world.routes.get(names.page_key("shop", first, "/about")) == "/about.html"
    assert world.routes.get(names.page_key("shop", first, "/")) == "/index.html"
    first_version = world.live_alias()
    asset = deps.s3.get_object(Bucket=PROJECT_BUCKET, Key=f"shop/{first}/_app/immutable/app.1a2b.js")
    assert asset["ContentType"].startswith("application/javascript")
    assert "immutable" in asset["CacheControl"]
    page = deps.s3.get_object(Bucket=PROJECT_BUCKET, Key=f"shop/{first}/about.html")
    assert page["ContentType"].startswith("text/html") and "immutable" not in page["CacheControl"]

    # A replayed state-change event changes nothing.
    deploy.deploy_event(world.deploy, batch_event("shop", first))
    assert world.live_alias() == first_version

    # A second build from the API goes live with a new version.
    time.sleep(1.1)  # deployment ids sort by second
    second = trigger_build(world.api, deps.store.projects.get(name="shop"), triggered_by="101").deployment_id  # type: ignore[arg-type]
    finish_build(world, second, client={"_app/immutable/app.9z.js": b"2"})
    deploy.deploy_event(world.deploy, batch_event("shop", second, job_id="job-2"))
    assert world.routes.get(names.live_key("shop")) == second
    assert world.live_alias() != first_version

    # Rollback: pointer and alias back, no rebuild.
    project = deps.store.projects.get(name="shop")
    assert project
    rolled = releases.rollback(world.api, project, None)
    assert rolled.deployment_id == first
    assert world.routes.get(names.live_key("shop")) == first and world.live_alias() == first_version
    kept = deps.store.deployments.get(project_name="shop", deployment_id=second)
    assert kept and kept.status == DeploymentStatus.READY

    # Delete: keys, files, records.
    token = tickets.issue(
        TICKET_KEY, stack=STACK, action=names.DELETE_DETAIL_TYPE, subject="101", project="shop", ttl=600
    )
    event = {
        "id": "e-del",
        "source": names.EVENT_SOURCE,
        "detail-type": names.DELETE_DETAIL_TYPE,
        "detail": {names.TICKET_DETAIL_FIELD: token},
    }
    deps.routes.write(deps.routes.etag(), {names.alias_key("shop"): "shop"}, [])  # type: ignore[union-attr]
    assert delete.delete_event(world.delete, event)
    assert deps.store.projects.get(name="shop") is None
    assert list(deps.store.deployments.query(project_name="shop")) == []
    assert world.routes.data == {}
    assert deps.s3.list_objects_v2(Bucket=PROJECT_BUCKET).get("KeyCount") == 0
    # Running it again is harmless.
    assert delete.delete_event(world.delete, event)


def test_keeps_only_the_configured_number_of_deployments(world: World) -> None:
    deps = world.deps
    world.add_project()
    ids = []
    keep = int(world.deploy.env[names.Env.KEEP_DEPLOYMENTS])  # as the template configures it
    for n in range(keep + 2):
        project = deps.store.projects.get(name="shop")
        assert project
        d = trigger_build(world.api, project, triggered_by="101")
        finish_build(world, d.deployment_id)
        deploy.deploy_event(world.deploy, batch_event("shop", d.deployment_id, job_id=f"job-{n}"))
        ids.append(d.deployment_id)
        time.sleep(1.05)
    left = sorted(d.deployment_id for d in deps.store.deployments.query(project_name="shop"))
    assert left == sorted(ids[-keep:])
    prefixes = {o["Key"].split("/")[1] for o in deps.s3.list_objects_v2(Bucket=PROJECT_BUCKET)["Contents"]}
    assert prefixes == set(ids[-keep:])
    assert not any(ids[0] in key for key in world.routes.data)


def test_an_older_build_finishing_late_does_not_replace_the_newer_live_one(world: World) -> None:
    deps = world.deps
    world.add_project()
    project = deps.store.projects.get(name="shop")
    assert project
    older = trigger_build(world.api, project, triggered_by="101").deployment_id
    time.sleep(1.05)
    # The older build lost the project's build slot (it never reported back in time), so the newer one
    # runs next to it instead of waiting.
    deps.store.projects.update({"name": "shop"}, {"build_slot_expires": 0})
    newer = trigger_build(world.api, project, triggered_by="101").deployment_id
    finish_build(world, newer)
    finish_build(world, older)
    deploy.deploy_event(world.deploy, batch_event("shop", newer, job_id="j-new"))
    deploy.deploy_event(world.deploy, batch_event("shop", older, job_id="j-old"))
    assert world.routes.get(names.live_key("shop")) == newer
    late = deps.store.deployments.get(project_name="shop", deployment_id=older)
    assert late and late.status == DeploymentStatus.READY  # kept, available for rollback


def test_a_failed_build_keeps_the_live_deployment_and_says_why(world: World) -> None:
    deps = world.deps
    world.add_project()
    project = deps.store.projects.get(name="shop")
    assert project
    d = trigger_build(world.api, project, triggered_by="101").deployment_id
    failed = batch_event("shop", d, status="FAILED", reason="Essential container exited")
    deploy.deploy_event(world.deploy, failed)
    record = deps.store.deployments.get(project_name="shop", deployment_id=d)
    project = deps.store.projects.get(name="shop")
    assert (
        record and record.status == DeploymentStatus.FAILED and "Essential container exited" in record.reason
    )
    assert (
        project and project.status.value == "FAILED" and "Essential container exited" in project.status_reason
    )
    assert names.live_key("shop") not in world.routes.data
