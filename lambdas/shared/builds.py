"""Starting a build: quota, deployment record, build spec, build event. Used by the API (build a
project), the GitHub webhook (push) and the operator CLI."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import access, build_queue, environment, events, lifecycle, names
from lambdas.shared.deps import Deps
from lambdas.shared.models import Deployment, DeploymentStatus, Project, User
from lambdas.shared.names import Env
from lambdas.shared.projectlog import ProjectLog
from lambdas.shared.store import is_conditional_failure

DAY = 86400


class BuildRefused(Exception):
    """The build was not started (project state, quota, GitHub, bus); the message is for the user."""

    def __init__(self, message: str, code: str = "build_refused") -> None:
        super().__init__(message)
        self.code = code


def _day_start(now: float) -> int:
    return int(now) // DAY * DAY


def take_build_quota(deps: Deps, user_id: str, limit: int) -> bool:
    """Count one build against the user's daily quota (UTC day); False, and nothing counted, when the
    quota is used up (reference defect 35: only accepted builds count)."""
    table = deps.store.users.table
    today = _day_start(deps.now())
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        # Same day, room left.
        (
            "SET #bc.#count = #bc.#count + :one",
            "attribute_exists(id) AND #bc.#window = :today AND #bc.#count < :limit",
            {":one": 1, ":today": today, ":limit": limit},
        ),
        # A new day (or no counter yet): start over at one.
        (
            "SET #bc = :fresh",
            "attribute_exists(id) AND (attribute_not_exists(#bc) OR #bc.#window < :today) AND :one <= :limit",
            {":fresh": {"window_start": today, "count": 1}, ":today": today, ":one": 1, ":limit": limit},
        ),
    ]
    for update, condition, values in attempts:
        expression_names = {"#bc": "build_counter", "#count": "count", "#window": "window_start"}
        if "#count" not in update + condition:
            expression_names.pop("#count")
        try:
            table.update_item(
                Key={"id": user_id},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=expression_names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as err:
            if not is_conditional_failure(err):
                raise
    return False


def return_build_quota(deps: Deps, user_id: str) -> None:
    """Give back a build that was counted but could not be started."""
    try:
        deps.store.users.table.update_item(
            Key={"id": user_id},
            UpdateExpression="SET #bc.#count = #bc.#count - :one",
            ConditionExpression="attribute_exists(id) AND #bc.#count > :zero",
            ExpressionAttributeNames={"#bc": "build_counter", "#count": "count"},
            ExpressionAttributeValues={":one": 1, ":zero": 0},
        )
    except ClientError as err:
        if not is_conditional_failure(err):
            raise


def build_spec(deps: Deps, project: Project, deployment: Deployment, token: str,
               captured: environment.Captured | None = None) -> dict[str, Any]:
    """What the build runner (`lambdas/pipeline/build.mjs`) reads. The clone URL is derived from the
    repository's full name, never taken from a client (reference defect 11). Build variables ride here
    as the token does, with the secret values the runner masks in the build log."""
    base = deps.env.get(Env.GITHUB_URL, "https://github.com").rstrip("/")
    captured = captured or environment.Captured()
    return {
        "environment": captured.build,
        "masked": captured.masked,
        "clone_url": f"{base}/{project.repository.full_name}.git",
        "token": token,
        "branch": project.branch,
        "commit": deployment.commit,
        "install_command": project.install_command,
        "build_command": project.build_command,
        "output_directory": project.output_directory,
    }


def check_repository_access(deps: Deps, project: Project, owner: User) -> None:
    """Every build, whoever triggers it, needs the owner's own GitHub access to the repository
    (an org member sees only the repositories they may read): lost access marks the project with the
    reason and builds nothing."""
    repository = project.repository
    try:
        access.repository(deps, owner, repository.installation_id, repository.id)
    except access.NoAccess as err:
        lifecycle.access_lost(deps, project.name, f"{repository.full_name}: {err}")
        raise BuildRefused(f"{repository.full_name}: {err}", "no_access") from err
    except access.GitHubUnavailable as err:
        raise BuildRefused("GitHub could not be reached to check repository access", "github") from err


def trigger_build(
    deps: Deps, project: Project, *, triggered_by: str, commit: str | None = None
) -> Deployment:
    """Start a build of `project` (at `commit`, or the branch tip). Raises `BuildRefused` with a
    message for the user; a started build is a Deployment in BUILDING (QUEUED while another build of the
    project runs, `build_queue`). Each attempt leaves its lines in
    the project's event log."""
    deployment = Deployment(
        project_name=project.name,
        commit=commit or "",
        branch=project.branch,
        triggered_by=triggered_by,
        status=DeploymentStatus.QUEUED,
    )
    event_log = ProjectLog(
        deps.logs, deps.names.project_log_group(project.name, "event"), deployment.deployment_id
    )
    event_log.line(
        f"build {deployment.deployment_id} requested by {triggered_by}"
        f" ({project.branch}{' @ ' + commit[:12] if commit else ''})"
    )
    try:
        _trigger(deps, project, deployment, event_log)
    except BuildRefused as err:
        event_log.line(f"build {deployment.deployment_id} not started: {err}")
        raise
    finally:
        event_log.flush()
    return deployment


def _trigger(deps: Deps, project: Project, deployment: Deployment, event_log: ProjectLog) -> None:
    if not lifecycle.buildable(project):
        raise BuildRefused(
            f"project {project.name} cannot be built while {project.status.value.lower()}", "not_ready"
        )
    user = deps.store.users.get(id=project.owner_id)
    subscription = (
        deps.store.subscriptions.get(id=user.subscription_id) if user and user.subscription_id else None
    )
    if user is None or subscription is None:
        raise BuildRefused("the project's owner has no subscription", "no_subscription")
    check_repository_access(deps, project, user)
    try:
        captured = environment.capture(deps, project)
    except Exception as err:
        raise BuildRefused("the project's environment variables could not be read", "internal") from err
    deployment.env_revision, deployment.runtime_variables = project.env_revision, captured.runtime_names
    if not take_build_quota(deps, user.id, subscription.limits.daily_builds):
        raise BuildRefused(
            f"daily build quota of {subscription.limits.daily_builds} used up", "quota_exceeded"
        )

    deps.store.deployments.create(deployment)
    try:
        try:
            token = deps.mint_installation_token(project.repository.installation_id, project.repository.id)
        except Exception as err:
            raise BuildRefused("GitHub refused access to the repository", "github") from err
        bucket = deps.env[Env.BUILD_BUCKET]
        if captured.runtime_file is not None:
            key = names.runtime_config_key(project.name, deployment.deployment_id)
            deps.s3.put_object(Bucket=bucket, Key=key, Body=captured.runtime_file,
                               ContentType="application/json")
        deps.s3.put_object(
            Bucket=bucket,
            Key=names.build_spec_key(project.name, deployment.deployment_id),
            Body=json.dumps(build_spec(deps, project, deployment, token, captured)).encode(),
            ContentType="application/json",
        )
        if not build_queue.claim_or_queue(deps, project.name, deployment.deployment_id):
            lifecycle.build_queued(deps, deployment)
            event_log.line(f"build {deployment.deployment_id} waits for the project's running build")
            return
        try:
            events.send_build(deps.events, deps.env[Env.EVENT_BUS], project.name, deployment.deployment_id)
        except Exception as err:
            build_queue.release(deps, project.name, deployment.deployment_id)
            raise BuildRefused("the build could not be queued", "queue") from err
    except Exception as err:
        refused = (
            err
            if isinstance(err, BuildRefused)
            else BuildRefused("the build could not be started", "internal")
        )
        return_build_quota(deps, user.id)
        lifecycle.failed(deps, deployment, str(refused), step="build")
        deployment.status, deployment.reason = DeploymentStatus.FAILED, str(refused)
        if refused is err:
            raise
        raise refused from err

    lifecycle.build_started(deps, deployment)
    lifecycle.build_queued(deps, deployment)
    deployment.status = DeploymentStatus.BUILDING
    event_log.line(f"build {deployment.deployment_id} queued")
