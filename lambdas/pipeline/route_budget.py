"""A deployment's share of the route store, checked and recorded before any key is written.

The route store is one CloudFront KeyValueStore (5 MB) shared by every project, so each project gets a
budget: `Limits.route_keys` keys across the deployments it keeps once the new one is live (the keep
policy of `releases.to_prune`). A deployment that would go past it is refused before anything is
uploaded, with the numbers in its reason.

The keys' paths are recorded on the Deployment record before the first is written, so whatever stops
the deploy, its keys can be found again: the failure path removes them (`remove_routes`), pruning and
deletion remove them with the deployment (`releases.route_keys`).
"""

from __future__ import annotations

from collections.abc import Mapping

from lambdas.pipeline.output import OutputRejected
from lambdas.shared import names, releases, routes
from lambdas.shared.deps import Deps
from lambdas.shared.models import Deployment, Limits, Project

# KeyValueStore limits: a key of at most 512 bytes, a value of at most 1 KB.
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
# The recorded paths share the Deployment item (DynamoDB: 400 KB at most) with its other fields: a list
# costs each string's bytes plus one, plus three. 2,000 keys (the default budget) of a typical 40-byte
# path take 82 KB; paths averaging over 150 bytes at that count are refused rather than unrecordable.
MAX_RECORD_BYTES = 300 * 1024


def keys_of(project: str, deployment_id: str, paths: Mapping[str, str]) -> dict[str, str]:
    """The route-store keys and values of a deployment, each checked against the store's limits."""
    keys = {}
    for path, target in paths.items():
        key = names.page_key(project, deployment_id, path)
        size = len(key.encode())
        if size > MAX_KEY_BYTES or len(target.encode()) > MAX_VALUE_BYTES:
            raise OutputRejected(
                f"the path {path[:100]!r} is too long for the route store: its key takes {size} bytes, "
                f"at most {MAX_KEY_BYTES} fit"
            )
        keys[key] = target
    record = sum(len(p.encode()) + 1 for p in paths) + 3
    if record > MAX_RECORD_BYTES:
        raise OutputRejected(
            f"the deployment's {len(paths)} route paths take {record} bytes; its record holds at most "
            f"{MAX_RECORD_BYTES} (use shorter paths or fewer files outside _app/immutable/)"
        )
    return keys


def check_budget(deps: Deps, project: Project, deployment: Deployment, needed: int, limits: Limits) -> None:
    """Refuse the deployment when its keys and those of the deployments kept with it exceed the
    project's budget."""
    everything = list(deps.store.deployments.query(project_name=project.name))
    live = project.live_deployment if releases.superseded(project, deployment) else deployment.deployment_id
    pruned = releases.to_prune(everything, live, releases.keep_count(deps), int(deps.now()))
    gone = {d.deployment_id for d in pruned} | {deployment.deployment_id}
    kept = [d for d in everything if d.deployment_id not in gone]
    held = {d.deployment_id: len(releases.route_keys(d)) for d in kept}
    if needed + sum(held.values()) > limits.route_keys:
        holders = ", ".join(f"{i}: {n}" for i, n in sorted(held.items()) if n) or "none"
        raise OutputRejected(
            f"the deployment needs {needed} route keys; the project's budget is {limits.route_keys}, "
            f"and the deployments kept with it hold {sum(held.values())} ({holders}). Every file outside "
            "_app/immutable/ takes one key: ship fewer files, or ask for a larger route_keys limit"
        )


def record(deps: Deps, deployment: Deployment, paths: Mapping[str, str]) -> Deployment:
    """The paths on the record, before their keys are written."""
    return deps.store.deployments.update(
        {"project_name": deployment.project_name, "deployment_id": deployment.deployment_id},
        {"route_paths": sorted(paths)},
    )


def remove_routes(deps: Deps, deployment: Deployment) -> None:
    """After a failed deploy: its recorded keys go, then the record says so. Never the keys of the live
    deployment (a go-live whose undo failed keeps serving)."""
    current = deps.store.deployments.get(
        project_name=deployment.project_name, deployment_id=deployment.deployment_id
    )
    if current is None or not current.route_paths:
        return
    project = deps.store.projects.get(name=deployment.project_name)
    pointer = deps.routes.get(names.live_key(deployment.project_name))
    if deployment.deployment_id in (pointer, project and project.live_deployment):
        return
    keys = releases.route_keys(current)
    routes.update(deps.routes, {}, keys, sleep=deps.sleep)
    deps.store.deployments.update(
        {"project_name": current.project_name, "deployment_id": current.deployment_id},
        {"route_paths": []},
    )
