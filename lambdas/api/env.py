"""A project's environment variables and secrets: `GET/PUT/DELETE /api/resource/env` (docs/API.md).

The owner reads and changes them; so do administrators whose roles grant the project permissions
(READ_PROJECT to read, WRITE_PROJECT to change); anyone else is told the project does not exist. A
secret's value never leaves through here. A change applies to the next deployment: the answer says
whether the live deployment runs with the current environment.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from lambdas.api.context import authenticate, deps_of
from lambdas.shared import environment, names
from lambdas.shared.api import ApiError, QueryModel, Request, RequestModel
from lambdas.shared.deps import Deps
from lambdas.shared.environment import EnvError, Setting
from lambdas.shared.http import json_response
from lambdas.shared.log import log
from lambdas.shared.models import Project, User
from lambdas.shared.rbac import Permission, allowed

MAX_PER_REQUEST = 100


class EnvQuery(QueryModel):
    project_name: str = Field(max_length=64)


class SetEnv(RequestModel):
    model_config = ConfigDict(extra="forbid", str_max_length=environment.MAX_VALUE_BYTES + 1)

    project_name: str = Field(max_length=64)
    variables: list[Setting] = Field(min_length=1, max_length=MAX_PER_REQUEST)


class UnsetEnv(RequestModel):
    project_name: str = Field(max_length=64)
    names: list[str] = Field(min_length=1, max_length=MAX_PER_REQUEST)
    target: str = Field(default="both", max_length=16)


def _project(deps: Deps, user: User, name: str, needed: Permission) -> Project:
    project = deps.store.projects.get(name=name.lower()) if names.valid_project_name(name.lower()) else None
    if project is None or (project.owner_id != user.id and not allowed(user, Permission.READ_PROJECT)):
        raise ApiError(404, "not_found", f"You have no project named {name!r}.")
    if project.owner_id != user.id and not allowed(user, needed):
        raise ApiError(403, "forbidden", "Your roles let you read this project's environment, not change it.")
    return project


def _answer(deps: Deps, project: Project, message: str) -> dict[str, Any]:
    limits = environment.owner_limits(deps, project)
    count, size = environment.usage(project.environment)
    live = deps.store.deployments.get(project_name=project.name, deployment_id=project.live_deployment) \
        if project.live_deployment else None
    return json_response(200, {
        "message": message,
        "variables": environment.listing(deps, project),
        "revision": project.env_revision,
        # The live deployment's configuration is older than the environment: redeploy to apply.
        "live_revision": live.env_revision if live else None,
        "live_commit": live.commit if live else None,
        "usage": {"variables": count, "variables_limit": limits.env_variables,
                  "bytes": size, "bytes_limit": limits.env_bytes},
    })


def _refused(err: EnvError) -> ApiError:
    return ApiError(err.status, err.code, str(err))


def getenv(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    query = request.args(EnvQuery)
    deps = deps_of(request)
    project = _project(deps, user, query.project_name, Permission.READ_PROJECT)
    return _answer(deps, project, "environment")


def putenv(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    body = request.body(SetEnv)
    deps = deps_of(request)
    project = _project(deps, user, body.project_name, Permission.WRITE_PROJECT)
    try:
        project = environment.set_variables(deps, project, body.variables, user.login)
    except EnvError as err:
        raise _refused(err) from err
    log("environment set", user_id=user.id, project=project.name, names=[v.name for v in body.variables])
    return _answer(deps, project, "saved: redeploy to apply")


def deleteenv(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    body = request.body(UnsetEnv)
    deps = deps_of(request)
    project = _project(deps, user, body.project_name, Permission.WRITE_PROJECT)
    try:
        project, removed = environment.unset_variables(deps, project, body.names, body.target)
    except EnvError as err:
        raise _refused(err) from err
    log("environment unset", user_id=user.id, project=project.name, removed=removed)
    return _answer(deps, project, "removed: redeploy to apply")


ROUTES = {
    "GET /api/resource/env": getenv,
    "PUT /api/resource/env": putenv,
    "DELETE /api/resource/env": deleteenv,
}
