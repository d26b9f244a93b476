"""What the API functions share: the container's `Deps` (built once per container), the origin
checks, and authentication of the caller. Each API module's `create` is `api_function(ROUTES)`."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.shared import names, sessions
from lambdas.shared.api import ApiError, Request, Route, check_origin, dispatch
from lambdas.shared.aws import Clients
from lambdas.shared.deps import Deps
from lambdas.shared.entry import Handler
from lambdas.shared.models import User
from lambdas.shared.names import Env
from lambdas.shared.rbac import Permission, allowed


def api_function(routes: Mapping[str, Route]) -> Callable[..., Handler]:
    """`create(env, clients)` of an API function: its dependencies, then each request through `serve`.
    A function without the origin secret's ARN cannot start: the check fails closed."""

    def create(env: Mapping[str, str], clients: Clients, now: Callable[[], float] = time.time) -> Handler:
        deps = Deps(env, clients, now=now)
        origin_secret_arn = env[Env.ORIGIN_SECRET_ARN]
        return lambda event, context: serve(deps, origin_secret_arn, event, context, routes)

    return create


def serve(
    deps: Deps, origin_secret_arn: str, event: Mapping[str, Any], context: Any, routes: Mapping[str, Route]
) -> dict[str, Any]:
    def guard(request: Request) -> None:
        request.state["deps"] = deps
        # Only CloudFront knows the origin secret: a direct call to execute-api is refused (defect 3).
        expected = deps.secrets.string(origin_secret_arn)
        given = request.headers.get(names.ORIGIN_SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(403, "forbidden", "Requests must come through the dashboard.")
        check_origin(request, deps.domain)

    return dispatch(event, context, routes, guard)


def deps_of(request: Request) -> Deps:
    deps: Deps = request.state["deps"]
    return deps


def authenticate(request: Request) -> User:
    """The signed-in user: a valid, unexpired session whose version matches the user record."""
    deps = deps_of(request)
    token = request.cookies.get(names.SESSION_COOKIE)
    if not token:
        raise ApiError(401, "unauthenticated", "Please sign in.")
    try:
        session = sessions.verify_session(token, deps.session_key(), domain=deps.domain, now=deps.now)
    except sessions.SessionError as err:
        raise ApiError(401, "unauthenticated", "Your session is invalid or expired; sign in.") from err
    user = deps.store.users.get(id=session.user_id)
    if user is None or user.session_version != session.version:
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.")
    request.state["user"] = user
    return user


def authorize(request: Request, *needed: Permission) -> User:
    user = authenticate(request)
    if not allowed(user, *needed):
        raise ApiError(403, "forbidden", "Your roles do not allow this.")
    return user
