"""Fault injection: each deploy step fails in turn; the previous deployment stays live (route pointer,
alias, record), nothing stays locked, and a retry of the same event converges."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.pipeline import deploy
from lambdas.shared import names
from lambdas.shared.builds import trigger_build
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import BUILD_BUCKET, batch_event, output_archive


class Faulty:
    """An AWS client whose `method` fails while `armed`."""

    def __init__(self, client: Any, method: str) -> None:
        self._client, self._method, self.armed = client, method, True

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == self._method and self.armed:

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, name)

            return fail
        return attribute


class FaultyRoutes:
    """The route store, failing writes of keys that start with `fail_on` while armed."""

    def __init__(self, store: MemoryRouteStore, fail_on: str) -> None:
        self.store, self.fail_on, self.armed = store, fail_on, True

    def get(self, key: str) -> str | None:
        return self.store.get(key)

    def etag(self) -> str:
        return self.store.etag()

    def write(self, etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        if self.armed and any(k.startswith(self.fail_on) for k in puts):
            raise RuntimeError("injected route-store failure")
        self.store.write(etag, puts, deletes)


STEPS = [
    ("s3", "get_object"),
    ("s3", "put_object"),
    ("lambda_", "update_function_code"),
    ("lambda_", "publish_version"),
    ("lambda_", "create_alias"),
    ("lambda_", "update_alias"),
    ("routes", names.PAGE_KEY_PREFIX),
    ("routes", names.LIVE_KEY_PREFIX),
]


@pytest.mark.parametrize(("client", "method"), STEPS, ids=[m for _, m in STEPS])
def test_a_failing_step_keeps_the_previous_deployment_live(world: World, client: str, method: str) -> None:
    deps = world.deps
    world.add_project()
    project = deps.store.projects.get(name="shop")
    assert project
    first = trigger_build(world.api, project, triggered_by="101").deployment_id
    deps.s3.put_object(
        Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", first), Body=output_archive()
    )
    deploy.deploy_event(world.deploy, batch_event("shop", first))
    version = world.live_alias()
    time.sleep(1.05)
    second = trigger_build(world.api, deps.store.projects.get(name="shop"), triggered_by="101").deployment_id  # type: ignore[arg-type]
    deps.s3.put_object(
        Bucket=BUILD_BUCKET,
        Key=names.build_output_key("shop", second),
        Body=output_archive(client={"_app/immutable/b.js": b"2"}),
    )

    # The deploy function with one AWS call failing (the route store's data: a stand-in of its own).
    function = world.deploy
    faulty: Any
    if client == "routes":
        faulty = FaultyRoutes(world.routes, method)
        function.routes = faulty
    else:
        faulty = Faulty(getattr(function, client), method)
        setattr(function, client, faulty)
    with pytest.raises(Exception):  # noqa: B017 - any failure: the event is retried
        deploy.deploy_event(function, batch_event("shop", second, job_id="j2"))

    assert world.routes.get(names.live_key("shop")) == first
    faulty.armed = False
    assert world.live_alias() == version
    after = deps.store.projects.get(name="shop")
    assert after and after.live_deployment == first and after.lock is None
    assert after.status.value == "FAILED" and second in after.status_reason
    assert any(f"deployment {second} failed" in line for line in world.log_lines("shop", "deploy"))

    # The retry (the same event again) converges.
    deploy.deploy_event(function, batch_event("shop", second, job_id="j2"))
    done = deps.store.projects.get(name="shop")
    assert (
        done and done.live_deployment == second and done.status.value == "LIVE" and done.status_reason == ""
    )
    assert world.routes.get(names.live_key("shop")) == second and world.live_alias() != version


def test_a_crashed_deploy_leaves_a_lock_that_expires(world: World) -> None:
    deps = world.deps
    world.add_project()
    project = deps.store.projects.get(name="shop")
    assert project
    d = trigger_build(world.api, project, triggered_by="101").deployment_id
    deps.s3.put_object(Bucket=BUILD_BUCKET, Key=names.build_output_key("shop", d), Body=output_archive())
    # Another owner's lock, expired a second ago (its function timed out).
    deps.store.projects.update(
        {"name": "shop"}, {"lock": {"owner": "crashed", "expires_at": int(time.time()) - 1}}
    )
    deploy.deploy_event(world.deploy, batch_event("shop", d))
    done = deps.store.projects.get(name="shop")
    assert done and done.live_deployment == d and done.lock is None
