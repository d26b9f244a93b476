"""At most one running build per project, and at most one waiting behind it (as Vercel queues builds).

The project record holds the build slot (the deployment whose Batch job runs, with an expiry so a job
that never reports back cannot hold it for ever) and the newest queued request. A newer request
replaces the queued one, which is CANCELED: a burst of pushes builds the first and the last commit,
not every one, and one project's pushes cannot fill the shared build queue. Every write is a
conditional update of the project record, so concurrent triggers and finishing builds never both win.

The build trigger (`builds.trigger_build`) claims or queues; the deploy function releases the slot
when the Batch job reports (SUCCEEDED or FAILED) and starts the queued build.
"""

from __future__ import annotations

import contextlib

from lambdas.shared import events, lifecycle
from lambdas.shared.deps import Deps
from lambdas.shared.log import log
from lambdas.shared.models import DeploymentStatus
from lambdas.shared.names import Env
from lambdas.shared.store import Conflict

# Longer than a build can take: two attempts of at most an hour each, plus time waiting for capacity.
SLOT_SECONDS = 3 * 3600
# Conditional writes that lose a race are retried against the fresh record.
ATTEMPTS = 8


def claim(deps: Deps, project: str, deployment_id: str) -> bool:
    """Take the slot for `deployment_id` if it is free (or expired, or its own already)."""
    now = int(deps.now())
    try:
        deps.store.projects.update(
            {"name": project},
            {"build_slot": deployment_id, "build_slot_expires": now + SLOT_SECONDS},
            "attribute_not_exists(#a0) OR #a0 = :mine OR #a1 < :now",
            {":mine": deployment_id, ":now": now},
        )
    except Conflict:
        return False
    return True


def claim_or_queue(deps: Deps, project: str, deployment_id: str) -> bool:
    """True: the slot is this deployment's, start its build now. False: it waits behind the running
    build, and the request it replaced (if any) is canceled."""
    if claim(deps, project, deployment_id):
        return True
    replaced = _queue(deps, project, deployment_id)
    if replaced:
        lifecycle.canceled(deps, project, replaced, f"superseded by the newer build {deployment_id}")
        log("build canceled: superseded while queued", project=project, deployment=replaced)
    # The running build may have finished between the claim and the queueing: nobody would start us.
    record = deps.store.projects.get(name=project)
    if record and record.build_slot is None and claim(deps, project, deployment_id):
        _dequeue(deps, project, deployment_id)
        return True
    return False


def _queue(deps: Deps, project: str, deployment_id: str) -> str | None:
    """Make `deployment_id` the queued request; returns the one it replaced."""
    for _ in range(ATTEMPTS):
        record = deps.store.projects.get(name=project)
        if record is None:
            raise Conflict(f"project {project} is gone")
        previous = record.queued_build
        condition = "attribute_not_exists(#a0)" if previous is None else "#a0 = :previous"
        try:
            deps.store.projects.update(
                {"name": project},
                {"queued_build": deployment_id},
                condition,
                {":previous": previous} if previous else None,
            )
        except Conflict:
            continue
        return previous
    raise Conflict(f"project {project}: the build queue kept changing")


def _dequeue(deps: Deps, project: str, deployment_id: str) -> None:
    # Conflict: a newer request replaced (and canceled) it meanwhile; the newer one keeps its place.
    with contextlib.suppress(Conflict):
        deps.store.projects.update(
            {"name": project}, {"queued_build": None}, "#a0 = :mine", {":mine": deployment_id}
        )


def release(deps: Deps, project: str, deployment_id: str) -> None:
    """The build of `deployment_id` reported: free the slot, and start the queued build in it."""
    for _ in range(ATTEMPTS):
        record = deps.store.projects.get(name=project)
        if record is None or record.build_slot != deployment_id:
            return  # replayed event, or the slot expired and moved on
        following = record.queued_build
        now = int(deps.now())
        try:
            deps.store.projects.update(
                {"name": project},
                {
                    "build_slot": following,
                    "build_slot_expires": now + SLOT_SECONDS if following else 0,
                    "queued_build": None,
                },
                "#a0 = :mine AND " + ("attribute_not_exists(#a2)" if following is None else "#a2 = :next"),
                {":mine": deployment_id} | ({":next": following} if following else {}),
            )
        except Conflict:
            continue
        if following:
            start(deps, project, following)
        return


def start(deps: Deps, project: str, deployment_id: str) -> None:
    """Send the build request of a deployment that holds the slot (its spec is written already)."""
    deployment = deps.store.deployments.get(project_name=project, deployment_id=deployment_id)
    if deployment is None or deployment.status not in (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING):
        release(deps, project, deployment_id)  # canceled or removed meanwhile: pass the slot on
        return
    try:
        events.send_build(deps.events, deps.env[Env.EVENT_BUS], project, deployment_id)
    except Exception as err:
        log("build could not be queued", level="ERROR", project=project, deployment=deployment_id,
            error=repr(err))
        lifecycle.failed(deps, deployment, "the build could not be queued", step="build")
        release(deps, project, deployment_id)
        return
    lifecycle.build_started(deps, deployment)
