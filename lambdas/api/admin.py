"""Administration: users, roles, subscriptions, projects and the platform's own logs.

Roles come from the caller's user record (`rbac`), checked after authentication. Every change is
logged with the acting administrator's id.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lambdas.api import logs as log_reader
from lambdas.api.context import api_function, authorize, deps_of
from lambdas.api.resource import request_delete
from lambdas.api.views import project_view, subscription_view, user_view
from lambdas.shared import names
from lambdas.shared.api import ApiError, QueryModel, Request, RequestModel
from lambdas.shared.entry import lambda_handler
from lambdas.shared.http import json_response
from lambdas.shared.log import log
from lambdas.shared.models import Limits, Role, Subscription, User
from lambdas.shared.rbac import Permission
from lambdas.shared.store import Conflict, KeeperLost

USER_ID = r"^[0-9]{1,20}$"


class UserQuery(QueryModel):
    user_id: str = Field(pattern=USER_ID)


class ProjectQuery(QueryModel):
    owner_id: str | None = Field(default=None, pattern=USER_ID)
    project_name: str | None = Field(default=None, max_length=64)


class UserChange(RequestModel):
    subscription_id: str | None


class UpdateUser(RequestModel):
    user_id: str = Field(pattern=USER_ID)
    update: UserChange


class UpdateRole(RequestModel):
    user_id: str = Field(pattern=USER_ID)
    rbac_roles: list[Role] = Field(max_length=len(Role))


class LimitsBody(Limits, RequestModel):
    pass


class UpsertSubscription(RequestModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    limits: LimitsBody = Field(default_factory=LimitsBody)


class UserRef(RequestModel):
    user_id: str = Field(pattern=USER_ID)


class ProjectRef(RequestModel):
    project_name: str = Field(max_length=64)


def _target(request: Request, user_id: str) -> User:
    user = deps_of(request).store.users.get(id=user_id)
    if user is None:
        raise ApiError(404, "not_found", f"No user {user_id}.")
    return user


def _audit(actor: User, action: str, **fields: Any) -> None:
    log(f"admin: {action}", actor_id=actor.id, action=action, **fields)


def finduser(request: Request) -> dict[str, Any]:
    authorize(request, Permission.READ_USER)
    query = request.args(UserQuery)
    return json_response(200, {"message": "user", "user": user_view(_target(request, query.user_id))})


def findproject(request: Request) -> dict[str, Any]:
    authorize(request, Permission.READ_PROJECT)
    query = request.args(ProjectQuery)
    store = deps_of(request).store
    if query.owner_id:
        projects = list(store.projects.query(names.PROJECTS_OWNER_INDEX, owner_id=query.owner_id))
    elif query.project_name:
        name = query.project_name.lower()
        found = store.projects.get(name=name) if names.valid_project_name(name) else None
        projects = [found] if found else []
    else:
        raise ApiError(400, "invalid_request", "Give owner_id or project_name.")
    return json_response(200, {"message": "projects", "projects": [project_view(p) for p in projects]})


def updateuser(request: Request) -> dict[str, Any]:
    actor = authorize(request, Permission.WRITE_USER)
    body = request.body(UpdateUser)
    deps = deps_of(request)
    if body.user_id == actor.id:  # nobody picks their own subscription (reference defect 10)
        raise ApiError(403, "forbidden", "You cannot change your own subscription.")
    subscription_id = body.update.subscription_id
    if subscription_id is not None and deps.store.subscriptions.get(id=subscription_id) is None:
        raise ApiError(400, "unknown_subscription", f"No subscription {subscription_id!r}.")
    try:
        updated = deps.store.users.update({"id": body.user_id}, {"subscription_id": subscription_id})
    except Conflict as err:
        raise ApiError(404, "not_found", f"No user {body.user_id}.") from err
    _audit(actor, "updateuser", target=body.user_id, subscription_id=subscription_id)
    return json_response(200, {"message": "user updated", "user": user_view(updated)})


def _role_managers(request: Request) -> set[str]:
    return {u.id for u in deps_of(request).store.users.scan() if Role.ROLE_MANAGER in u.roles}


def _demote(request: Request, target: User, roles: list[str]) -> User:
    """Take ROLE_MANAGER away only while another user keeps it, checked in the same transaction as the
    write: two managers removing each other at once cannot leave none."""
    store = deps_of(request).store
    for keeper in sorted(_role_managers(request) - {target.id}):
        try:
            return store.set_roles_kept(target, roles, keeper, Role.ROLE_MANAGER.value)
        except KeeperLost:
            continue  # lost the role meanwhile: another may keep it
    raise ApiError(409, "last_role_manager", "The last ROLE_MANAGER cannot lose the role.")


def updaterole(request: Request) -> dict[str, Any]:
    """Known roles only; USER always stays; nobody adds roles to themselves (reference defect 9); the
    last ROLE_MANAGER stays one. The target's sessions end, so new roles apply at once."""
    actor = authorize(request, Permission.WRITE_ROLE)
    body = request.body(UpdateRole)
    deps = deps_of(request)
    target = _target(request, body.user_id)
    roles = [Role.USER, *sorted({r for r in body.rbac_roles if r != Role.USER})]
    if target.id == actor.id and not set(roles) <= set(target.roles):
        raise ApiError(403, "forbidden", "You cannot give yourself roles.")
    try:
        if Role.ROLE_MANAGER in target.roles and Role.ROLE_MANAGER not in roles:
            updated = _demote(request, target, [r.value for r in roles])
        else:
            updated = deps.store.users.update(
                {"id": target.id},
                {"roles": [r.value for r in roles], "session_version": target.session_version + 1},
                "session_version = :v", {":v": target.session_version},
            )
    except Conflict as err:
        raise ApiError(409, "conflict", "The user changed meanwhile; please try again.") from err
    _audit(actor, "updaterole", target=target.id, roles=[r.value for r in roles],
           previous=[r.value for r in target.roles])
    return json_response(200, {"message": "roles updated", "user": user_view(updated)})


def fetchlog(request: Request) -> dict[str, Any]:
    actor = authorize(request, Permission.READ_LOGS)
    query = request.body(log_reader.LogQuery)
    deps = deps_of(request)
    if query.log_type not in names.PLATFORM_LOG_KINDS:
        raise ApiError(400, "invalid_log_type", f"log_type is one of {', '.join(names.PLATFORM_LOG_KINDS)}.")
    group = deps.names.platform_log_group(query.log_type)
    result = log_reader.fetch(deps.logs, group, query, int(deps.now() * 1000))
    _audit(actor, "fetchlog", log_type=query.log_type)
    return json_response(200, {"message": "log events", **result})


def listsubscription(request: Request) -> dict[str, Any]:
    authorize(request, Permission.READ_SUBSCRIPTION)
    subscriptions = sorted(deps_of(request).store.subscriptions.scan(), key=lambda s: s.id)
    return json_response(200, {"message": "subscriptions",
                               "subscriptions": [subscription_view(s) for s in subscriptions]})


def upsertsubscription(request: Request) -> dict[str, Any]:
    actor = authorize(request, Permission.WRITE_SUBSCRIPTION)
    body = request.body(UpsertSubscription)
    subscription = Subscription(id=body.id, name=body.name, limits=Limits(**body.limits.model_dump()))
    deps_of(request).store.subscriptions.put(subscription)
    _audit(actor, "upsertsubscription", subscription=subscription.model_dump(mode="json"))
    return json_response(200, {"message": "subscription saved",
                               "subscription": subscription_view(subscription)})


def deleteuser(request: Request) -> dict[str, Any]:
    actor = authorize(request, Permission.WRITE_USER, Permission.WRITE_PROJECT)
    body = request.body(UserRef)
    deps = deps_of(request)
    target = _target(request, body.user_id)
    if target.id == actor.id:
        raise ApiError(403, "forbidden", "You cannot delete yourself.")
    if target.privileged:
        raise ApiError(409, "privileged", "Remove the user's roles first.")
    if next(deps.store.projects.query(names.PROJECTS_OWNER_INDEX, owner_id=target.id), None) is not None:
        raise ApiError(409, "has_projects", "Delete the user's projects first.")
    deps.store.users.delete(id=target.id)
    _audit(actor, "deleteuser", target=target.id, login=target.login)
    return json_response(200, {"message": "user deleted"})


def deleteproject(request: Request) -> dict[str, Any]:
    actor = authorize(request, Permission.WRITE_PROJECT)
    body = request.body(ProjectRef)
    deps = deps_of(request)
    name = body.project_name.lower()
    project = deps.store.projects.get(name=name) if names.valid_project_name(name) else None
    if project is None:
        raise ApiError(404, "not_found", f"No project named {body.project_name!r}.")
    request_delete(deps, project, "owner_id = :owner", {":owner": project.owner_id})
    _audit(actor, "deleteproject", project=project.name, owner_id=project.owner_id)
    return json_response(202, {"message": "project is being deleted"})


ROUTES = {
    "GET /api/admin/finduser": finduser,
    "GET /api/admin/findproject": findproject,
    "PATCH /api/admin/updateuser": updateuser,
    "PATCH /api/admin/updaterole": updaterole,
    "POST /api/admin/fetchlog": fetchlog,
    "GET /api/admin/listsubscription": listsubscription,
    "PUT /api/admin/upsertsubscription": upsertsubscription,
    "DELETE /api/admin/deleteuser": deleteuser,
    "DELETE /api/admin/deleteproject": deleteproject,
}


create = api_function(ROUTES)
handler = lambda_handler(create)
