"""Which deployment of a project is live: going live, rollback, the project lock, and removing
deployments that are no longer kept.

Going live is one route-store write (the live pointer, after the deployment's page keys) plus one alias
update (docs/PIPELINE.md). The pipeline alone owns the `live` alias: the first go-live creates it, so no
stack update can move it behind the route store's back. If either step or the record update after them
fails, the steps already done are undone, so the previous deployment stays live. Deployment ids sort by
trigger time: a deployment never replaces a newer live one (an older build finishing late, reference
defect 28).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import lifecycle, names, routes
from lambdas.shared.deps import Deps
from lambdas.shared.lifecycle import IN_FLIGHT
from lambdas.shared.log import log
from lambdas.shared.models import Deployment, DeploymentStatus, Project, ProjectStatus
from lambdas.shared.names import Env
from lambdas.shared.store import Conflict

LOCK_SECONDS = 900  # the pipeline functions' timeout: a crashed holder's lock expires with it
ROLLBACK_LOCK_SECONDS = 120
STALE_IN_FLIGHT_SECONDS = 86400  # a build that never reported back is pruned after a day


class ReleaseError(Exception):
    """Rollback or lock refused; the message is for the user."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message)
        self.code = code


# --- the project lock -----------------------------------------------------------------------------


def acquire_lock(deps: Deps, project: str, owner: str, seconds: int = LOCK_SECONDS) -> Project:
    """Take the project's lock (free, expired, or already ours); ReleaseError("locked") otherwise, or
    ("not_found") when the project is gone or being deleted."""
    now = int(deps.now())
    try:
        return deps.store.projects.update(
            {"name": project},
            {"lock": {"owner": owner, "expires_at": now + seconds}},
            "(attribute_not_exists(#a0) OR #a0.expires_at < :now OR #a0.#owner = :owner)"
            " AND #st <> :deleting",
            {":now": now, ":owner": owner, ":deleting": ProjectStatus.DELETING.value},
            extra_names={"#owner": "owner", "#st": "status"},
        )
    except Conflict:
        current = deps.store.projects.get(name=project)
        if current is None or current.status == ProjectStatus.DELETING:
            raise ReleaseError(f"project {project} is gone or being deleted", "not_found") from None
        raise ReleaseError(f"project {project} is busy with another pipeline step", "locked") from None


def release_lock(deps: Deps, project: str, owner: str) -> None:
    # Conflict: not ours any more (expired and taken over), or the project is gone.
    with contextlib.suppress(Conflict):
        deps.store.projects.update(
            {"name": project},
            {"lock": None},
            "#a0.#owner = :owner",
            {":owner": owner},
            extra_names={"#owner": "owner"},
        )


# --- going live -------------------------------------------------------------------------------------


def function_name(deps: Deps, project: str) -> str:
    return deps.names.project_function(project)


def _write_pointer(deps: Deps, project: str, deployment_id: str | None) -> None:
    key = names.live_key(project)
    if deployment_id:
        routes.update(deps.routes, {key: deployment_id}, sleep=deps.sleep)
    else:
        routes.update(deps.routes, {}, [key], sleep=deps.sleep)


def superseded(project: Project, deployment: Deployment) -> bool:
    """A newer deployment is already live."""
    return bool(project.live_deployment and project.live_deployment > deployment.deployment_id)


def live_version(deps: Deps, function: str) -> str | None:
    """The version the function's `live` alias names; None before the project's first go-live (the
    pipeline owns the alias, no stack creates it)."""
    try:
        return str(deps.lambda_.get_alias(FunctionName=function, Name=names.LIVE_ALIAS)["FunctionVersion"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def go_live(deps: Deps, project: Project, deployment: Deployment) -> Deployment:
    """Make `deployment` (uploaded, version published, page keys written) the live one. The caller holds
    the project lock."""
    previous = project.live_deployment
    function = function_name(deps, project.name)
    old_version = live_version(deps, function)
    version = deployment.function_version
    undo: list[Callable[[], object]] = []  # the steps done so far, undone in reverse on failure
    try:
        if old_version is None:
            # First go-live: the alias comes before the pointer, so the edge never routes to a
            # deployment whose function has no `live` yet.
            deps.lambda_.create_alias(FunctionName=function, Name=names.LIVE_ALIAS, FunctionVersion=version)
            undo.append(lambda: deps.lambda_.delete_alias(FunctionName=function, Name=names.LIVE_ALIAS))
        _write_pointer(deps, project.name, deployment.deployment_id)
        undo.append(lambda: _write_pointer(deps, project.name, previous))
        if old_version is not None:
            deps.lambda_.update_alias(FunctionName=function, Name=names.LIVE_ALIAS, FunctionVersion=version)
            undo.append(
                lambda: deps.lambda_.update_alias(
                    FunctionName=function, Name=names.LIVE_ALIAS, FunctionVersion=old_version
                )
            )
        live = lifecycle.live(deps, deployment)
    except Exception:
        for step in reversed(undo):
            step()
        raise
    if previous and previous != deployment.deployment_id:
        lifecycle.no_longer_live(deps, project.name, previous)
    return live


def rollback(deps: Deps, project: Project, to: str | None) -> Deployment:
    """Make a kept deployment live again, without a rebuild: `to`, or the one before the live one."""
    owner = f"rollback-{secrets.token_hex(6)}"
    project = acquire_lock(deps, project.name, owner, ROLLBACK_LOCK_SECONDS)
    try:
        kept = [
            d
            for d in deps.store.deployments.query(project_name=project.name, newest_first=True)
            if d.status == DeploymentStatus.READY and d.function_version
        ]
        live = project.live_deployment
        if to is not None:
            if to == live:
                raise ReleaseError(f"deployment {to} is already live", "already_live")
            target = next((d for d in kept if d.deployment_id == to), None)
            if target is None:
                raise ReleaseError(f"deployment {to} is not kept for rollback", "not_found")
        else:
            target = next((d for d in kept if live is None or d.deployment_id < live), None)
            if target is None:
                raise ReleaseError("there is no earlier deployment to roll back to", "not_found")
        log("rollback", project=project.name, to=target.deployment_id, previous=live)
        return go_live(deps, project, target)
    finally:
        release_lock(deps, project.name, owner)


# --- removing deployments ---------------------------------------------------------------------------


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix`; per-key failures are errors (reference defect 40)."""
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if not keys:
            continue
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        if response.get("Errors"):
            error = response["Errors"][0]
            raise RuntimeError(f"could not delete {error.get('Key')}: {error.get('Code')}")
        removed += len(keys)
    return removed


def _ignore_missing(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as err:
        # Conflict: an unchanged build published no new version, and a kept deployment still uses it.
        if err.response.get("Error", {}).get("Code") not in (
            "ResourceNotFoundException",
            "ResourceConflictException",
        ):
            raise


def route_keys(deployment: Deployment) -> list[str]:
    """The route-store keys a deployment wrote (or was about to): its recorded paths, and the page paths
    of a deployment recorded before those."""
    paths = dict.fromkeys([*deployment.route_paths, *deployment.pages])
    return [names.page_key(deployment.project_name, deployment.deployment_id, p) for p in paths]


def remove_deployment(deps: Deps, deployment: Deployment, *, with_function: bool = True) -> None:
    """Everything of one deployment: route keys, files, server version and alias, record. Idempotent."""
    project = deployment.project_name
    keys = route_keys(deployment)
    if keys and deps.has_routes:
        routes.update(deps.routes, {}, keys, sleep=deps.sleep)
    delete_prefix(
        deps.s3, deps.env[Env.PROJECT_BUCKET], names.deployment_prefix(project, deployment.deployment_id)
    )
    deps.s3.delete_object(
        Bucket=deps.env[Env.PROJECT_BUCKET], Key=names.server_code_key(project, deployment.deployment_id)
    )
    if with_function:
        function = function_name(deps, project)
        _ignore_missing(
            deps.lambda_.delete_alias,
            FunctionName=function,
            Name=names.deployment_alias(deployment.deployment_id),
        )
        if deployment.function_version:
            _ignore_missing(
                deps.lambda_.delete_function, FunctionName=function, Qualifier=deployment.function_version
            )
    deps.store.deployments.delete(project_name=project, deployment_id=deployment.deployment_id)


def to_prune(deployments: Iterable[Deployment], live: str | None, keep: int, now: int) -> list[Deployment]:
    """The deployments beyond the newest `keep` (the live one is always kept, builds in flight too
    unless they never reported back)."""
    ordered = sorted(deployments, key=lambda d: d.deployment_id, reverse=True)
    kept = 0
    prune = []
    for d in ordered:
        if d.deployment_id == live:
            continue
        if d.status in IN_FLIGHT and now - d.created_at < STALE_IN_FLIGHT_SECONDS:
            continue
        if kept < keep - (1 if live else 0):
            kept += 1
            continue
        prune.append(d)
    return prune


def keep_count(deps: Deps) -> int:
    return int(deps.env.get(Env.KEEP_DEPLOYMENTS, "5"))


def prune(deps: Deps, project: Project) -> list[str]:
    """Remove deployments beyond `KEEP_DEPLOYMENTS`; returns their ids."""
    deployments = list(deps.store.deployments.query(project_name=project.name))
    removed = []
    for deployment in to_prune(deployments, project.live_deployment, keep_count(deps), int(deps.now())):
        remove_deployment(deps, deployment)
        removed.append(deployment.deployment_id)
    return removed
