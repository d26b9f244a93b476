"""Deletes a project (ticketed event `battleshiper.delete`): its route keys (aliases, live pointer,
pages), its files in the project and build buckets, its stack, its records.

Every step is idempotent, so a retried or repeated event finishes what an earlier attempt started;
the project record goes last, and a missing record means the work is done. The ticket's subject must
be the owner or a maintainer (administrators delete other people's projects).
"""

from __future__ import annotations

from secrets import token_hex
from typing import Any

from lambdas.pipeline.handlers import ticketed_function, verified_ticket
from lambdas.pipeline.init import WAIT, describe
from lambdas.shared import lifecycle, names, quotas, releases, routes
from lambdas.shared.deps import Deps
from lambdas.shared.entry import lambda_handler
from lambdas.shared.log import log
from lambdas.shared.models import Project, Role
from lambdas.shared.names import Env
from lambdas.shared.projectlog import ProjectLog
from lambdas.shared.store import Conflict


class DeleteFailed(Exception):
    """A step failed; the event is retried."""


def delete_event(deps: Deps, event: dict[str, Any]) -> bool:
    """True when the project is gone (now or before)."""
    ticket = verified_ticket(deps, event, "delete", names.DELETE_DETAIL_TYPE)
    if ticket is None:
        return False
    project = deps.store.projects.get(name=ticket.project)
    if project is None:
        return True
    if project.owner_id != ticket.subject:
        user = deps.store.users.get(id=ticket.subject)
        if user is None or Role.MAINTAINER not in user.roles:
            log("delete: ticket subject may not delete this project", project=project.name)
            return False
    delete_project(deps, project)
    return True


def delete_project(deps: Deps, project: Project) -> None:
    owner = f"delete-{token_hex(6)}"
    project_log = ProjectLog(deps.logs, deps.names.project_log_group(project.name, "event"), "delete")
    try:
        lifecycle.begin_deletion(deps.store, project.name, deps.now())
    except Conflict:
        return  # gone already
    # A deploy in progress sees DELETING and stops at its next step; its lock expires with it.
    project = _wait_for_lock(deps, project.name, owner)
    try:
        _remove_routes(deps, project)
        bucket = deps.env[Env.PROJECT_BUCKET]
        removed = releases.delete_prefix(deps.s3, bucket, f"{project.name}/")
        removed += releases.delete_prefix(deps.s3, bucket, f"{names.SERVER_CODE_PREFIX}{project.name}/")
        removed += releases.delete_prefix(deps.s3, deps.env[Env.BUILD_BUCKET], f"{project.name}/")
        project_log.line(f"deleting project {project.name}: routes and {removed} files removed")
        _delete_stack(deps, project.name)
        for deployment in list(deps.store.deployments.query(project_name=project.name)):
            deps.store.deployments.delete(project_name=project.name, deployment_id=deployment.deployment_id)
        quotas.release_project(deps.store, project)  # the record goes and the owner's slot comes back
        project_log.line(f"project {project.name} deleted")
    except Exception as err:
        log("delete failed", level="ERROR", project=project.name, error=repr(err))
        lifecycle.deletion_failed(deps.store, project.name)
        raise
    finally:
        project_log.flush()


def _wait_for_lock(deps: Deps, project: str, owner: str) -> Project:
    """Take the lock past DELETING: wait for an unexpired holder (a deploy) to finish or expire."""
    deadline = deps.now() + releases.LOCK_SECONDS
    while True:
        now = int(deps.now())
        try:
            return deps.store.projects.update(
                {"name": project},
                {"lock": {"owner": owner, "expires_at": now + releases.LOCK_SECONDS}},
                "attribute_not_exists(#a0) OR #a0.expires_at < :now",
                {":now": now},
            )
        except Conflict:
            if deps.store.projects.get(name=project) is None:
                raise DeleteFailed(f"project {project} vanished") from None
            if deps.now() >= deadline:
                raise DeleteFailed(f"project {project} stayed locked") from None
            deps.sleep(5)


def _remove_routes(deps: Deps, project: Project) -> None:
    if not deps.has_routes:
        raise DeleteFailed("route store not configured")
    deletes = [names.live_key(project.name)]
    for alias in {project.name, *project.aliases}:
        # Only keys that still name this project: an alias may have been taken over since.
        if deps.routes.get(names.alias_key(alias)) == project.name:
            deletes.append(names.alias_key(alias))
    for deployment in deps.store.deployments.query(project_name=project.name):
        deletes += releases.route_keys(deployment)
    routes.update(deps.routes, {}, deletes, sleep=deps.sleep)


def _delete_stack(deps: Deps, project: str) -> None:
    stack = deps.names.project_stack(project)
    current = describe(deps, stack)
    if current is None or current["StackStatus"] == "DELETE_COMPLETE":
        return
    deps.cloudformation.delete_stack(StackName=stack)
    deps.cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=current["StackId"], WaiterConfig=WAIT
    )


create = ticketed_function("delete", delete_event)
handler = lambda_handler(create)
