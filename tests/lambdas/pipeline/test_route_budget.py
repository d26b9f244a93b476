"""Route keys: every file outside `_app/immutable/` gets one, recorded on the deployment before it is
written (so a failed deploy, pruning and deletion remove exactly them), within the project's budget."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import pytest

from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.pipeline import deploy, route_budget
from lambdas.shared import names
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import DeploymentStatus
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import BUILD_BUCKET, PROJECT_BUCKET, batch_event, output_archive


def build(world: World, job: str, **archive: object) -> str:
    time.sleep(1.05)  # deployment ids sort by second
    project = world.deps.store.projects.get(name="shop")
    assert project
    d = trigger_build(world.api, project, triggered_by="101").deployment_id
    body = output_archive(**archive)  # type: ignore[arg-type]
    world.deps.s3.put_object(Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", d), Body=body)
    return d


def keys_of(world: World, deployment: str) -> dict[str, str]:
    prefix = names.page_key("shop", deployment, "")
    return {k[len(prefix) :]: v for k, v in world.routes.data.items() if k.startswith(prefix)}


def test_every_file_outside_immutable_is_routed_and_recorded(world: World) -> None:
    world.add_project()
    d = build(
        world,
        "j1",
        client={"_app/immutable/app.1a.js": b"1", "_app/version.json": b"{}", "favicon.png": b"P",
                "data.json": b"[]", "café.txt": b"c"},
        pages={"index.html": b"h", "about.html": b"a", "sitemap.xml": b"s", "x/__data.json": b"{}"},
    )
    deploy.deploy_event(world.deploy, batch_event("shop", d, job_id="j1"))
    expected = {
        "/_app/version.json": "/_app/version.json",
        "/favicon.png": "/favicon.png",
        "/data.json": "/data.json",
        "/café.txt": "/café.txt",
        "/": "/index.html",
        "/about": "/about.html",
        "/sitemap.xml": "/sitemap.xml",
        "/x/__data.json": "/x/__data.json",
    }
    assert keys_of(world, d) == expected
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=d)
    assert record and record.status == DeploymentStatus.LIVE and record.page_count == 2
    assert sorted(record.route_paths) == sorted(expected)


class FailingAfter:
    """The route store, failing every write of page keys after the first `allowed`."""

    def __init__(self, store: MemoryRouteStore, allowed: int) -> None:
        self.store, self.allowed, self.armed = store, allowed, True

    def get(self, key: str) -> str | None:
        return self.store.get(key)

    def etag(self) -> str:
        return self.store.etag()

    def write(self, etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        if self.armed and any(k.startswith(names.PAGE_KEY_PREFIX) for k in puts):
            if self.allowed <= 0:
                raise RuntimeError("injected route-store failure")
            self.allowed -= 1
        self.store.write(etag, puts, deletes)


MANY = {f"f{i:03d}.txt": b"x" for i in range(120)}  # three batches of keys


def test_a_deploy_failing_midway_through_its_keys_removes_those_it_wrote(world: World) -> None:
    world.add_project()
    first = build(world, "j1")
    deploy.deploy_event(world.deploy, batch_event("shop", first, job_id="j1"))
    live_keys = keys_of(world, first)
    second = build(world, "j2", client=MANY)
    function = world.deploy
    function.routes = FailingAfter(world.routes, allowed=1)
    with pytest.raises(RuntimeError):
        deploy.deploy_event(function, batch_event("shop", second, job_id="j2"))
    assert keys_of(world, second) == {}  # the 50 written before the failure are gone again
    assert keys_of(world, first) == live_keys and world.routes.get(names.live_key("shop")) == first
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=second)
    assert record and record.status == DeploymentStatus.FAILED and record.route_paths == []


def test_keys_a_failed_deploy_could_not_remove_stay_recorded_and_go_with_the_deployment(world: World) -> None:
    world.add_project()
    first = build(world, "j1")
    deploy.deploy_event(world.deploy, batch_event("shop", first, job_id="j1"))
    second = build(world, "j2", client=MANY)
    function = world.deploy
    function.routes = FailingAfter(world.routes, allowed=1)
    original = world.routes.write

    def no_deletes(etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        if list(deletes):
            raise RuntimeError("injected: the route store is down for the clean-up too")
        original(etag, puts, [])

    world.routes.write = no_deletes  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        deploy.deploy_event(function, batch_event("shop", second, job_id="j2"))
    world.routes.write = original  # type: ignore[method-assign]
    assert len(keys_of(world, second)) == 50
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=second)
    assert record and len(record.route_paths) == 122  # 120 files, favicon.png, and the page `/about`...
    # ...so pruning finds them: deploy until the failed one falls out of the kept deployments.
    keep = int(world.deploy.env[names.Env.KEEP_DEPLOYMENTS])
    for n in range(keep):
        d = build(world, f"k{n}")
        deploy.deploy_event(world.deploy, batch_event("shop", d, job_id=f"k{n}"))
    assert world.deps.store.deployments.get(project_name="shop", deployment_id=second) is None
    assert keys_of(world, second) == {}


def test_the_budget_counts_the_deployments_kept_after_going_live(world: World) -> None:
    keep = int(world.deploy.env[names.Env.KEEP_DEPLOYMENTS])
    per_deployment = 3  # favicon.png, `/` and `/about` of the default output
    world.add_project(limits={"route_keys": keep * per_deployment})
    for n in range(keep + 2):  # pruned deployments give their keys back
        d = build(world, f"j{n}")
        deploy.deploy_event(world.deploy, batch_event("shop", d, job_id=f"j{n}"))
        record = world.deps.store.deployments.get(project_name="shop", deployment_id=d)
        assert record and record.status == DeploymentStatus.LIVE, record and record.reason
    held = [k for k in world.routes.data if k.startswith(names.page_key("shop", "", "").rstrip("/"))]
    assert len(held) == keep * per_deployment


def test_a_deployment_over_the_budget_is_refused_before_anything_is_uploaded(world: World) -> None:
    keep = int(world.deploy.env[names.Env.KEEP_DEPLOYMENTS])
    world.add_project(limits={"route_keys": keep * 3 - 1})
    ids = []
    for n in range(keep):
        ids.append(build(world, f"j{n}"))
        deploy.deploy_event(world.deploy, batch_event("shop", ids[-1], job_id=f"j{n}"))
    last, live = ids[-1], ids[-2]
    assert deploy.deploy_event(world.deploy, batch_event("shop", last, job_id=f"j{keep - 1}")) is None
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=last)
    reason = f"the deployment needs 3 route keys; the project's budget is {keep * 3 - 1}"
    assert record and record.status == DeploymentStatus.FAILED and reason in record.reason
    project = world.deps.store.projects.get(name="shop")
    assert project and reason in project.status_reason and project.live_deployment == live
    assert any(reason in line for line in world.log_lines("shop", "deploy"))
    listed = world.deps.s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=f"shop/{last}/")
    assert listed.get("KeyCount") == 0 and keys_of(world, last) == {}


def test_a_path_too_long_for_a_route_key_is_refused_with_its_reason(world: World) -> None:
    world.add_project()
    d = build(world, "j1", client={"a" * 480 + ".txt": b"x"})
    assert deploy.deploy_event(world.deploy, batch_event("shop", d, job_id="j1")) is None
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=d)
    assert record and "too long for the route store" in record.reason and "at most 512" in record.reason
    assert world.deps.s3.list_objects_v2(Bucket=PROJECT_BUCKET).get("KeyCount") == 0


def test_the_clean_up_never_removes_the_keys_of_the_deployment_the_live_pointer_names(world: World) -> None:
    world.add_project()
    d = build(world, "j1")
    deploy.deploy_event(world.deploy, batch_event("shop", d, job_id="j1"))
    record = world.deps.store.deployments.get(project_name="shop", deployment_id=d)
    assert record and keys_of(world, d)
    route_budget.remove_routes(world.deploy, record)  # as after a go-live whose undo failed
    assert len(keys_of(world, d)) == 3 and world.routes.get(names.live_key("shop")) == d
