"""Projects of the signed-in user: repositories, create, list, update, aliases, builds, deployments,
rollback, logs and delete. Every endpoint checks ownership; another user's project is "not found".
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, field_validator

from lambdas.api import env
from lambdas.api import logs as log_reader
from lambdas.api.context import api_function, authenticate, deps_of
from lambdas.api.repositories import accessible_repository, listrepository
from lambdas.api.views import deployment_view, project_view
from lambdas.shared import events, lifecycle, names, quotas, releases, routes
from lambdas.shared.api import ApiError, QueryModel, Request, RequestModel
from lambdas.shared.builds import BuildRefused, trigger_build
from lambdas.shared.deps import Deps
from lambdas.shared.entry import lambda_handler
from lambdas.shared.http import json_response
from lambdas.shared.log import log
from lambdas.shared.models import DeploymentStatus, Project, ProjectStatus, Repository, Subscription, User
from lambdas.shared.store import AliasTaken, Conflict

COMMAND = r"^[^\x00-\x1f\x7f]*$"


def _path_like(value: str) -> str:
    """Git refs and output directories: no `..`, no empty segment, relative."""
    if ".." in value or "//" in value or value.startswith("/") or value.endswith("/"):
        raise ValueError("must be a relative path without '..' or empty segments")
    return value


Branch = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$"), AfterValidator(_path_like)]
Directory = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9._][A-Za-z0-9._/-]{0,199}$"), AfterValidator(_path_like)
]
COMMIT = r"^[0-9a-f]{7,40}$"
DEPLOYMENT_ID = names.DEPLOYMENT_ID_PATTERN
MAX_ALIASES = 50


class CreateProject(RequestModel):
    project_name: str = Field(max_length=64)
    repository_id: int = Field(ge=1, le=2**53)
    branch: Branch | None = None
    install_command: str = Field(default="npm ci", min_length=1, max_length=1000, pattern=COMMAND)
    build_command: str = Field(default="npm run build", min_length=1, max_length=1000, pattern=COMMAND)
    output_directory: Directory = "build"


class ProjectRef(RequestModel):
    project_name: str = Field(max_length=64)


class UpdateProject(ProjectRef):
    repository_id: int | None = Field(default=None, ge=1, le=2**53)
    branch: Branch | None = None
    install_command: str | None = Field(default=None, min_length=1, max_length=1000, pattern=COMMAND)
    build_command: str | None = Field(default=None, min_length=1, max_length=1000, pattern=COMMAND)
    output_directory: Directory | None = None


class UpdateAlias(ProjectRef):
    aliases: list[str] = Field(max_length=MAX_ALIASES)

    @field_validator("aliases")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        if any(len(a) > 64 for a in value):
            raise ValueError("an alias has at most 64 characters")
        return value


class BuildProject(ProjectRef):
    commit: str | None = Field(default=None, pattern=COMMIT)


class Rollback(ProjectRef):
    deployment_id: str | None = Field(default=None, pattern=DEPLOYMENT_ID)


class ProjectLogQuery(log_reader.LogQuery, ProjectRef):
    pass


class Page(QueryModel):
    limit: int = Field(default=50, ge=1, le=100)
    next: str | None = Field(default=None, max_length=64)


class DeploymentPage(Page):
    project_name: str = Field(max_length=64)


# --- helpers -------------------------------------------------------------------------------------

R = TypeVar("R", bound=ProjectRef)



def _own_project(deps: Deps, user: User, name: str) -> Project:
    project = deps.store.projects.get(name=name.lower()) if names.valid_project_name(name.lower()) else None
    if project is None or project.owner_id != user.id:
        raise ApiError(404, "not_found", f"You have no project named {name!r}.")
    return project


def _owned(request: Request, model: type[R]) -> tuple[User, R, Deps, Project]:
    """The signed-in user, the request's body, the function's `Deps` and the user's project it names
    (authenticated before the body is read)."""
    user = authenticate(request)
    body = request.body(model)
    deps = deps_of(request)
    return user, body, deps, _own_project(deps, user, body.project_name)


def _subscription(deps: Deps, user: User) -> Subscription:
    subscription = deps.store.subscriptions.get(id=user.subscription_id) if user.subscription_id else None
    if subscription is None:
        raise ApiError(403, "no_subscription", "Your account has no subscription yet; ask an administrator.")
    return subscription


def _cursor(value: str | None, pattern: str) -> str | None:
    if value is not None and not re.fullmatch(pattern, value):
        raise ApiError(400, "invalid_request", "next: not a cursor from an earlier page.")
    return value


# --- endpoints -----------------------------------------------------------------------------------


def listproject(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    page = request.args(Page)
    start_name = _cursor(page.next, names.PROJECT_NAME_PATTERN)
    start = {"owner_id": user.id, "name": start_name} if start_name else None
    projects, last = deps_of(request).store.projects.page(
        names.PROJECTS_OWNER_INDEX, limit=page.limit, start=start, owner_id=user.id
    )
    return json_response(200, {
        "message": "projects",
        "projects": [project_view(p) for p in projects],
        "next": last["name"] if last else None,
    })


def createproject(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    body = request.body(CreateProject)
    deps = deps_of(request)
    name = body.project_name.lower()
    if not names.valid_project_name(name):
        raise ApiError(400, "invalid_name", f"A project name is a DNS label of 1-{names.MAX_PROJECT_NAME} "
                       "lowercase letters, digits and single hyphens, and not a reserved name.")
    subscription = _subscription(deps, user)
    repository = accessible_repository(deps, user, body.repository_id)
    assert user.installation_id is not None
    if deps.routes.get(names.alias_key(name)) is not None:
        raise ApiError(409, "name_taken", f"The name {name!r} is taken.")
    project = Project(
        name=name,
        owner_id=user.id,
        repository=Repository(id=repository.id, full_name=repository.full_name,
                              installation_id=user.installation_id),
        branch=body.branch or repository.default_branch,
        install_command=body.install_command,
        build_command=body.build_command,
        output_directory=body.output_directory,
        aliases=[name],
        status=ProjectStatus.CREATING,
    )
    try:
        quotas.create_project(deps.store, project, subscription.limits.project_count)
    except quotas.NameTaken as err:
        raise ApiError(409, "name_taken", f"The name {name!r} is taken.") from err
    except quotas.QuotaExceeded as err:
        raise ApiError(403, "quota_exceeded", f"Your subscription allows {subscription.limits.project_count} "
                       "projects.") from err
    # Never a project stuck half-created (reference defect 32): undo the record if the rest fails.
    try:
        routes.update(deps.routes, {names.alias_key(name): name})
        try:
            events.send_init(deps.events, deps.ticket_key(), project, user.id, deps.env)
        except Exception:
            routes.update(deps.routes, {}, [names.alias_key(name)])
            raise
    except Exception as err:
        quotas.release_project(deps.store, project)
        log("create project undone", level="ERROR", project=name, error=repr(err)[:500])
        raise ApiError(503, "unavailable", "The project could not be created; please try again.") from err
    log("project created", user_id=user.id, project=name)
    return json_response(201, {"message": "project created, initialising", "project": project_view(project)})


def updateproject(request: Request) -> dict[str, Any]:
    user, body, deps, project = _owned(request, UpdateProject)
    values: dict[str, Any] = {
        k: v for k, v in body.model_dump(include={"branch", "install_command", "build_command",
                                                   "output_directory"}).items() if v is not None
    }
    if body.repository_id is not None and body.repository_id != project.repository.id:
        repository = accessible_repository(deps, user, body.repository_id)
        assert user.installation_id is not None
        values["repository"] = Repository(id=repository.id, full_name=repository.full_name,
                                          installation_id=user.installation_id).model_dump()
    if not values:
        raise ApiError(400, "nothing_to_update", "Name at least one field to change.")
    values["updated_at"] = int(deps.now())
    try:
        updated = deps.store.projects.update(
            {"name": project.name}, values, "owner_id = :owner AND #st <> :deleting",
            {":owner": user.id, ":deleting": ProjectStatus.DELETING.value}, extra_names={"#st": "status"},
        )
    except Conflict as err:
        raise ApiError(409, "deleting", "The project is being deleted.") from err
    return json_response(200, {"message": "project updated", "project": project_view(updated)})


def updatealias(request: Request) -> dict[str, Any]:
    """Aliases are single labels directly under the domain (`<alias>.<domain>`): the wildcard
    certificate covers one label only (reference defect 59). The project's own name always stays."""
    user, body, deps, project = _owned(request, UpdateAlias)
    wanted = list(dict.fromkeys([project.name, *(a.strip().lower() for a in body.aliases)]))
    invalid = [a for a in wanted if not names.valid_project_name(a)]
    if invalid:
        raise ApiError(400, "invalid_alias", f"Not a valid alias: {invalid[0][:64]!r} (a DNS label, "
                       "not a reserved name).")
    limit = _subscription(deps, user).limits.alias_count
    if len(wanted) - 1 > limit:
        raise ApiError(403, "quota_exceeded", f"Your subscription allows {limit} aliases per project.")
    if project.status == ProjectStatus.DELETING:
        raise ApiError(409, "deleting", "The project is being deleted.")
    added = [a for a in wanted if a not in project.aliases]
    removed = [a for a in project.aliases if a not in wanted]
    for alias in added:
        holder = deps.routes.get(names.alias_key(alias))
        if (holder is not None and holder != project.name) or deps.store.projects.get(name=alias) is not None:
            raise ApiError(409, "alias_taken", f"The name {alias!r} is taken.")
    # Claimed first, conditionally (a parallel claim of the same alias fails): only the claim's holder
    # ever writes the alias's route.
    try:
        deps.store.claim_aliases(project.name, added)
    except AliasTaken as err:
        raise ApiError(409, "alias_taken", f"The name {err.alias!r} is taken.") from err
    puts = {names.alias_key(a): project.name for a in added}
    routes.update(deps.routes, puts)
    try:  # `aliases` unchanged since read: of two parallel updates of this project, one wins
        updated = deps.store.projects.update(
            {"name": project.name}, {"aliases": wanted, "updated_at": int(deps.now())},
            "owner_id = :owner AND #st <> :deleting AND #a0 = :old",
            {":owner": user.id, ":deleting": ProjectStatus.DELETING.value, ":old": project.aliases},
            extra_names={"#st": "status"},
        )
    except Conflict as err:
        routes.update(deps.routes, {}, list(puts))
        deps.store.release_aliases(project.name, added)
        raise ApiError(409, "conflict", "The project is being deleted or changed meanwhile; please try "
                       "again.") from err
    # Only keys that still point at this project are removed.
    routes.update(deps.routes, {}, [names.alias_key(a) for a in removed
                                    if deps.routes.get(names.alias_key(a)) == project.name])
    deps.store.release_aliases(project.name, removed)
    return json_response(200, {"message": "aliases updated", "project": project_view(updated)})


BUILD_REFUSALS = {
    "quota_exceeded": 429, "not_ready": 409, "no_subscription": 403, "no_access": 403, "github": 502,
    "queue": 503,
}


def buildproject(request: Request) -> dict[str, Any]:
    user, body, deps, project = _owned(request, BuildProject)
    try:
        deployment = trigger_build(deps, project, triggered_by=user.id, commit=body.commit)
    except BuildRefused as err:
        raise ApiError(BUILD_REFUSALS.get(err.code, 503), err.code, str(err)) from err
    queued = deployment.status == DeploymentStatus.QUEUED
    message = "build queued: it starts when the project's running build ends" if queued else "build started"
    return json_response(202, {"message": message, "deployment": deployment_view(deployment)})


def listdeployments(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    page = request.args(DeploymentPage)
    deps = deps_of(request)
    project = _own_project(deps, user, page.project_name)
    start_id = _cursor(page.next, DEPLOYMENT_ID)
    start = {"project_name": project.name, "deployment_id": start_id} if start_id else None
    deployments, last = deps.store.deployments.page(
        limit=page.limit, start=start, newest_first=True, project_name=project.name
    )
    return json_response(200, {
        "message": "deployments",
        "live_deployment": project.live_deployment,
        "deployments": [deployment_view(d) for d in deployments],
        "next": last["deployment_id"] if last else None,
    })


ROLLBACK_REFUSALS = {"not_found": 404, "already_live": 409, "locked": 409}


def rollbackproject(request: Request) -> dict[str, Any]:
    user, body, deps, project = _owned(request, Rollback)
    try:
        deployment = releases.rollback(deps, project, body.deployment_id)
    except releases.ReleaseError as err:
        raise ApiError(ROLLBACK_REFUSALS.get(err.code, 409), err.code, str(err)) from err
    log("rollback", user_id=user.id, project=project.name, to=deployment.deployment_id)
    return json_response(200, {"message": "rolled back", "deployment": deployment_view(deployment)})


def request_delete(deps: Deps, project: Project, condition: str, values: dict[str, Any]) -> None:
    """Mark the project DELETING and ask the pipeline to remove it; restore the status if the bus
    refuses, so the project is never stuck (idempotent: a repeat sends the request again)."""
    try:
        lifecycle.begin_deletion(deps.store, project.name, deps.now(), condition, values)
    except Conflict as err:
        raise ApiError(404, "not_found", f"No project named {project.name!r}.") from err
    try:
        events.send_delete(deps.events, deps.ticket_key(), project, project.owner_id, deps.env)
    except Exception as err:
        lifecycle.restore_status(deps.store, project)
        log("delete request not sent", level="ERROR", project=project.name, error=repr(err)[:500])
        raise ApiError(503, "unavailable", "The project could not be deleted; please try again.") from err


def deleteproject(request: Request) -> dict[str, Any]:
    user, _, deps, project = _owned(request, ProjectRef)
    request_delete(deps, project, "owner_id = :owner", {":owner": user.id})
    log("project deletion requested", user_id=user.id, project=project.name)
    return json_response(202, {"message": "project is being deleted"})


def fetchlog(request: Request) -> dict[str, Any]:
    _, query, deps, project = _owned(request, ProjectLogQuery)
    if query.log_type not in names.PROJECT_LOG_KINDS:
        raise ApiError(400, "invalid_log_type", f"log_type is one of {', '.join(names.PROJECT_LOG_KINDS)}.")
    group = deps.names.project_log_group(project.name, query.log_type)
    result = log_reader.fetch(deps.logs, group, query, int(deps.now() * 1000))
    return json_response(200, {"message": "log events", **result})


ROUTES = {
    "GET /api/resource/listrepository": listrepository,
    "GET /api/resource/listproject": listproject,
    "POST /api/resource/createproject": createproject,
    "PATCH /api/resource/updateproject": updateproject,
    "POST /api/resource/updatealias": updatealias,
    "POST /api/resource/buildproject": buildproject,
    "GET /api/resource/listdeployments": listdeployments,
    "POST /api/resource/rollbackproject": rollbackproject,
    "DELETE /api/resource/deleteproject": deleteproject,
    "POST /api/resource/fetchlog": fetchlog,
    **env.ROUTES,
}


create = api_function(ROUTES)
handler = lambda_handler(create)
