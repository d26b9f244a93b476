"""What the API functions share: their clients (built once per container, or handed in by tests and
the local platform through `use`), the origin checks, and authentication of the caller."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3

from lambdas.shared import builds, names, secrets, sessions
from lambdas.shared.api import ApiError, Request, Route, check_origin, dispatch
from lambdas.shared.github import GitHub, from_environment
from lambdas.shared.models import User
from lambdas.shared.names import Env, Names
from lambdas.shared.rbac import Permission, allowed
from lambdas.shared.routes import AwsRouteStore, RouteStore
from lambdas.shared.store import Store


@dataclass
class ApiDeps:
    env: Mapping[str, str]
    store: Store
    clients: Callable[[str], Any] = boto3.client  # service name -> boto3 client
    github_factory: Callable[[], GitHub] | None = None
    route_store: RouteStore | None = None
    now: Callable[[], float] = time.time
    cache: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.cache:
            self.cache[service] = self.clients(service)
        return self.cache[service]

    @property
    def domain(self) -> str:
        return self.env[Env.DOMAIN]

    @property
    def names(self) -> Names:
        return Names(self.env.get(Env.STACK) or names.DEFAULT_STACK_NAME)

    @cached_property
    def github(self) -> GitHub:
        return self.github_factory() if self.github_factory else from_environment(self.env)

    @property
    def routes(self) -> RouteStore:
        if self.route_store is None:
            self.route_store = AwsRouteStore(
                boto3.client("cloudfront-keyvaluestore", region_name="us-east-1"),
                self.env[Env.ROUTE_STORE_ARN],
            )
        return self.route_store

    def session_key(self) -> bytes:
        return secrets.signing_key(self.env[Env.SESSION_KEY_SECRET_ARN])

    def pipeline(self) -> builds.Deps:
        """The pipeline's view of the same clients (build triggers, rollbacks)."""
        if "pipeline" not in self.cache:
            self.cache["pipeline"] = builds.Deps(
                store=self.store,
                env=self.env,
                s3=self.client("s3"),
                events=self.client("events"),
                logs=self.client("logs"),
                lambda_=self.client("lambda"),  # rollback moves the `live` alias
                routes=self.route_store if self.route_store is not None else None,
                mint_installation_token=lambda installation, repository: self.github.repository_token(
                    installation, repository
                ),
                now=self.now,
            )
        deps: builds.Deps = self.cache["pipeline"]
        return deps


_deps: ApiDeps | None = None


def use(deps: ApiDeps | None) -> None:
    """Hand the functions their clients (tests, local platform); None: build them from the environment."""
    global _deps
    _deps = deps


def current() -> ApiDeps:
    global _deps
    if _deps is None:
        _deps = ApiDeps(env=os.environ, store=Store(boto3.resource("dynamodb"), os.environ))
    return _deps


def serve(event: Mapping[str, Any], context: Any, routes: Mapping[str, Route]) -> dict[str, Any]:
    deps = current()

    def guard(request: Request) -> None:
        request.state["deps"] = deps
        # Only CloudFront knows the origin secret: a direct call to execute-api is refused (defect 3).
        arn = deps.env.get(Env.ORIGIN_SECRET_ARN)
        if arn:
            expected = secrets.secret_string(arn)
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
