"""The one dependency container of the Lambdas: a function's environment, the client factory, and what
is built from them (store, secrets, GitHub, route store, signing keys, clients), each on first use and
kept for the container's life. Every handler builds one in `create`; the API, the pipeline and the
operator CLI's project commands all take it.

Callers that know better may hand over a part (`store=`, `routes=`, `mint_installation_token=`): the
CLI reads the tables and GitHub with the operator's credentials, the tests look through their own
route store. Everything else comes from the environment, exactly as in Lambda.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from lambdas.shared import names
from lambdas.shared.aws import Clients
from lambdas.shared.names import Env, Names
from lambdas.shared.routes import AwsRouteStore, RouteStore
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store

if TYPE_CHECKING:
    from lambdas.shared.github import GitHub

# (installation id, repository id) -> an installation token for that one repository, contents:read.
MintToken = Callable[[int, int], str]

# Parallel uploads and deletes of a deployment's files need a wide connection pool.
WIDE = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)
# Parallel uploads of a deployment's files.
WORKERS = 32


class RouteStoreMissing(RuntimeError):
    """The function's environment names no route store (it is granted none)."""


class Deps:
    def __init__(
        self,
        env: Mapping[str, str],
        clients: Clients,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = WORKERS,
        store: Store | None = None,
        routes: RouteStore | None = None,
        mint_installation_token: MintToken | None = None,
    ) -> None:
        self.env = env
        self.clients = clients
        self.now = now
        self.sleep = sleep
        self.workers = workers
        # A part handed over fills its lazy slot, so it is never built from the environment.
        if store is not None:
            self.store = store
        if routes is not None:
            self.routes = routes
        if mint_installation_token is not None:
            self.mint_installation_token = mint_installation_token

    # --- environment ------------------------------------------------------------------------------

    @property
    def names(self) -> Names:
        return Names(self.env.get(Env.STACK) or names.DEFAULT_STACK_NAME)

    @property
    def domain(self) -> str:
        return self.env[Env.DOMAIN]

    # --- built on first use -----------------------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        return Store(self.clients.resource("dynamodb"), self.env)

    @cached_property
    def secrets(self) -> Secrets:
        return Secrets(self.clients)

    @cached_property
    def github(self) -> GitHub:
        # Imported when needed: most functions never talk to GitHub.
        from lambdas.shared.github import from_environment

        return from_environment(self.env, self.secrets)

    @cached_property
    def mint_installation_token(self) -> MintToken:
        return lambda installation, repository: self.github.repository_token(installation, repository)

    @property
    def has_routes(self) -> bool:
        return "routes" in self.__dict__ or bool(self.env.get(Env.ROUTE_STORE_ARN))

    @cached_property
    def routes(self) -> RouteStore:
        if not self.env.get(Env.ROUTE_STORE_ARN):
            raise RouteStoreMissing("route store not configured")
        # The KeyValueStore data plane is global, signed for us-east-1.
        kvs = self.clients.client("cloudfront-keyvaluestore", region="us-east-1")
        return AwsRouteStore(kvs, self.env[Env.ROUTE_STORE_ARN])

    def session_key(self) -> bytes:
        return self.secrets.signing_key(self.env[Env.SESSION_KEY_SECRET_ARN])

    def ticket_key(self) -> bytes:
        return self.secrets.signing_key(self.env[Env.TICKET_KEY_SECRET_ARN])

    # --- clients ----------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    @cached_property
    def s3(self) -> Any:
        return self.clients.client("s3", config=WIDE)

    @cached_property
    def lambda_(self) -> Any:
        return self.clients.client("lambda", config=WIDE)

    @cached_property
    def events(self) -> Any:
        return self.clients.client("events")

    @cached_property
    def cloudformation(self) -> Any:
        return self.clients.client("cloudformation")

    @cached_property
    def logs(self) -> Any:
        return self.clients.client("logs")
