"""The states of projects and deployments, and every write that moves one.

A project:  CREATING -> READY | FAILED (init) -> BUILDING (a build queued) -> DEPLOYING -> LIVE, or
FAILED from any pipeline step; any state -> DELETING, which is final (the record goes next). No
pipeline write lands on a project being deleted: each is conditional on the record not being DELETING.

A deployment:  QUEUED (behind the project's running build) -> BUILDING, or CANCELED when a newer request
replaces it in the queue; BUILDING -> DEPLOYING -> READY -> LIVE (-> READY again when another goes live), or
FAILED on the way (`DEPLOYMENT_NEXT`); a FAILED one is deployed again when Lambda retries its event.
The event handlers check these against the record before they act.

The build trigger, the deploy function, releases (go live, rollback), init, delete, the webhook and the
API call these; none writes a status itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

from lambdas.shared.deps import Deps
from lambdas.shared.models import Deployment, DeploymentStatus, Project, ProjectStatus
from lambdas.shared.store import Conflict, Store

# Projects in these states have a stack a build can run in.
BUILDABLE = (
    ProjectStatus.READY,
    ProjectStatus.BUILDING,
    ProjectStatus.DEPLOYING,
    ProjectStatus.LIVE,
    ProjectStatus.FAILED,
)
# Projects with a build or deploy under way (init's replay leaves them so).
IN_FLIGHT_PROJECT = (ProjectStatus.BUILDING, ProjectStatus.DEPLOYING)
# Deployments whose build has not reported back, or whose deploy has not finished.
IN_FLIGHT = (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING, DeploymentStatus.DEPLOYING)

D = DeploymentStatus
# The states a deployment may move to from each (a retried step may repeat its own).
DEPLOYMENT_NEXT: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    D.QUEUED: frozenset({D.BUILDING, D.CANCELED, D.FAILED}),
    D.CANCELED: frozenset(),  # final: the request was replaced before it built
    D.BUILDING: frozenset({D.DEPLOYING, D.FAILED}),
    D.DEPLOYING: frozenset({D.DEPLOYING, D.READY, D.FAILED}),
    D.READY: frozenset({D.LIVE, D.FAILED}),  # FAILED: going live failed, nothing was switched
    D.LIVE: frozenset({D.READY, D.FAILED}),  # READY: another went live; FAILED: its go-live was undone
    D.FAILED: frozenset({D.DEPLOYING}),  # Lambda retries the deploy
}


def buildable(project: Project) -> bool:
    return project.status in BUILDABLE


def may_become(deployment: Deployment, status: DeploymentStatus) -> bool:
    return status in DEPLOYMENT_NEXT[deployment.status]


# --- projects -------------------------------------------------------------------------------------


def set_status(deps: Deps, project: str, status: ProjectStatus, reason: str, **values: Any) -> bool:
    """Record the pipeline state (and other fields), unless the project is gone or being deleted."""
    try:
        # `status` is the first value, so `Repo.update` names it #a0.
        deps.store.projects.update(
            {"name": project},
            {"status": status.value, "status_reason": reason, "updated_at": int(deps.now()), **values},
            "#a0 <> :deleting",
            {":deleting": ProjectStatus.DELETING.value},
        )
    except Conflict:
        return False
    return True


def begin_deletion(
    store: Store,
    project: str,
    now: float,
    condition: str | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """DELETING, from any state (a repeat too); Conflict when the record is gone or `condition` fails."""
    store.projects.update(
        {"name": project}, {"status": ProjectStatus.DELETING.value, "updated_at": int(now)}, condition, values
    )


def restore_status(store: Store, project: Project) -> None:
    """Undo `begin_deletion` when the delete request could not be sent (never a project stuck)."""
    if project.status != ProjectStatus.DELETING:
        store.projects.update({"name": project.name}, {"status": project.status.value})


def deletion_failed(store: Store, project: str) -> None:
    """A delete step failed: say so and free the lock; the event is retried and stays DELETING."""
    with contextlib.suppress(Conflict):
        store.projects.update({"name": project}, {"status_reason": "deletion failed; retrying", "lock": None})


def access_lost(deps: Deps, project: str, reason: str) -> None:
    """The owner can no longer access the repository: builds are refused until they can again."""
    set_status(deps, project, ProjectStatus.FAILED, f"build refused: {reason}")


def stack_failed(deps: Deps, project: str, reason: str) -> None:
    set_status(deps, project, ProjectStatus.FAILED, f"project stack not created: {reason}")


def stack_ready(deps: Deps, project: Project, stack: str) -> None:
    """READY (LIVE if it has a live deployment); a replay mid-build keeps BUILDING or DEPLOYING."""
    status = ProjectStatus.LIVE if project.live_deployment else ProjectStatus.READY
    keep = project.status in IN_FLIGHT_PROJECT
    set_status(deps, project.name, project.status if keep else status, "", stack_name=stack)


# --- deployments ----------------------------------------------------------------------------------


def _key(deployment: Deployment) -> dict[str, str]:
    return {"project_name": deployment.project_name, "deployment_id": deployment.deployment_id}


def build_queued(deps: Deps, deployment: Deployment) -> None:
    set_status(deps, deployment.project_name, ProjectStatus.BUILDING, "")  # old failure text goes (defect 43)


def build_started(deps: Deps, deployment: Deployment) -> None:
    """The build holds the project's build slot and its request is sent."""
    deps.store.deployments.update(_key(deployment), {"status": DeploymentStatus.BUILDING.value})


def canceled(deps: Deps, project: str, deployment_id: str, reason: str) -> None:
    """A queued request replaced by a newer one (as a newer push supersedes a waiting one)."""
    with contextlib.suppress(Conflict):  # pruned or deleted meanwhile: nothing to cancel
        deps.store.deployments.update(
            {"project_name": project, "deployment_id": deployment_id},
            {"status": DeploymentStatus.CANCELED.value, "reason": reason, "finished_at": int(deps.now())},
            "#a0 = :queued",
            {":queued": DeploymentStatus.QUEUED.value},
        )


def failed(
    deps: Deps, deployment: Deployment, reason: str, *, step: str = "deployment", **values: Any
) -> Deployment:
    """The deployment and its project FAILED with `reason` (the project's says which `step`: "build"
    when the build never started). Conflict when the deployment record is gone; the project's status
    is written all the same (a no-op once it is being deleted)."""
    try:
        return deps.store.deployments.update(
            _key(deployment),
            {"status": DeploymentStatus.FAILED.value, "reason": reason, **values,
             "finished_at": int(deps.now())},
        )
    finally:
        text = f"{step} {deployment.deployment_id}: {reason}"
        set_status(deps, deployment.project_name, ProjectStatus.FAILED, text)


def deploying(deps: Deps, deployment: Deployment, job_id: str) -> None:
    deps.store.deployments.update(
        _key(deployment),
        {"status": DeploymentStatus.DEPLOYING.value, "job_id": job_id or deployment.job_id, "reason": ""},
    )
    set_status(deps, deployment.project_name, ProjectStatus.DEPLOYING, "")


def ready(deps: Deps, deployment: Deployment, **facts: Any) -> Deployment:
    """Uploaded, published and routed: a deployment that can go live (now or by rollback)."""
    return deps.store.deployments.update(
        _key(deployment),
        {"status": DeploymentStatus.READY.value, **facts, "finished_at": int(deps.now())},
    )


def kept_not_live(deps: Deps, project: str) -> None:
    """A newer deployment is live already: the project stays LIVE with it."""
    set_status(deps, project, ProjectStatus.LIVE, "")


def live(deps: Deps, deployment: Deployment) -> Deployment:
    """The records of a go-live (the routes and the alias are switched already)."""
    updated = deps.store.deployments.update(
        _key(deployment),
        {
            "status": DeploymentStatus.LIVE.value,
            "reason": "",
            "finished_at": deployment.finished_at or int(deps.now()),
        },
    )
    set_status(
        deps, deployment.project_name, ProjectStatus.LIVE, "", live_deployment=deployment.deployment_id
    )
    return updated


def no_longer_live(deps: Deps, project: str, deployment_id: str) -> None:
    with contextlib.suppress(Conflict):  # pruned meanwhile
        deps.store.deployments.update(
            {"project_name": project, "deployment_id": deployment_id},
            {"status": DeploymentStatus.READY.value},
        )
