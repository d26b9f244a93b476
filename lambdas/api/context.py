"""What the API functions share: their clients (from the factory, once per container), the origin
checks, and authentication of the caller. Each API module's `create` is `api_function(ROUTES)`."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from lambdas.shared import builds, names, sessions
from lambdas.shared.api import ApiError, Request, Route, check_origin, dispatch
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler
from lambdas.shared.github import GitHub, from_environment
from lambdas.shared.models import User
from lambdas.shared.names import Env, Names
from lambdas.shared.rbac import Permission, allowed
from lambdas.shared.routes import AwsRouteStore, RouteStore
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store


@dataclass
class ApiDeps:
    env: Mapping[str, str]
    clients: Clients
    now: Callable[[], float] = time.time

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    @property
    def domain(self) -> str:
        return self.env[Env.DOMAIN]

    @property
    def names(self) -> Names:
        return Names(self.env.get(Env.STACK) or names.DEFAULT_STACK_NAME)

    @cached_property
    def store(self) -> Store:
        return Store(self.clients.resource("dynamodb"), self.env)

    @cached_property
    def secrets(self) -> Secrets:
        return Secrets(self.clients)

    @cached_property
    def github(self) -> GitHub:
        return from_environment(self.env, self.secrets)

    @cached_property
    def routes(self) -> RouteStore:
        # The KeyValueStore data plane is global, signed for us-east-1.
        kvs = self.clients.client("cloudfront-keyvaluestore", region="us-east-1")
        return AwsRouteStore(kvs, self.env[Env.ROUTE_STORE_ARN])

    def session_key(self) -> bytes:
        return self.secrets.signing_key(self.env[Env.SESSION_KEY_SECRET_ARN])

    def ticket_key(self) -> bytes:
        return self.secrets.signing_key(self.env[Env.TICKET_KEY_SECRET_ARN])

    @cached_property
    def _pipeline(self) -> builds.Deps:
        return builds.Deps.create(
            self.env,
            self.clients,
            store=self.store,
            secrets=self.secrets,
            now=self.now,
            mint_installation_token=lambda installation, repository: self.github.repository_token(
                installation, repository
            ),
        )

    def pipeline(self) -> builds.Deps:
        """The pipeline's view of the same clients (build triggers, rollbacks)."""
        return self._pipeline


def api_function(routes: Mapping[str, Route]) -> Callable[..., Handler]:
    """`create(env, clients)` of an API function: its dependencies, then each request through `serve`.
    A function without the origin secret's ARN cannot start: the check fails closed."""

    def create(env: Mapping[str, str], clients: Clients, now: Callable[[], float] = time.time) -> Handler:
        deps = ApiDeps(env=env, clients=clients, now=now)
        origin_secret_arn = env[Env.ORIGIN_SECRET_ARN]
        return lambda event, context: serve(deps, origin_secret_arn, event, context, routes)

    return create


def serve(
    deps: ApiDeps, origin_secret_arn: str, event: Mapping[str, Any], context: Any, routes: Mapping[str, Route]
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


def deps_of(request: Request) -> ApiDeps:
    deps: ApiDeps = request.state["deps"]
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
