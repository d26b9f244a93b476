"""The API functions as Lambda runs them: the platform template provisioned into moto, each function
with the environment and role the template gives it (IAM enforced, `tests.support.platform`), the real
GitHub stand-in, and EventBridge → SQS to see what reaches the pipeline bus. AWS is set up once per
module, the stand-in once per session; every test starts with empty tables, a fresh route store and a
reset stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from battleshiper_cli.local.github import GitHubStandIn, Repo
from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.shared import names, sessions
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler
from lambdas.shared.models import Limits, Role, Subscription, User
from lambdas.shared.names import Env
from lambdas.shared.store import Store
from tests.support.events import DOMAIN, http_event
from tests.support.github_tokens import signed_in
from tests.support.platform import TestPlatform, provision

STACK = "battleshiper"
ROUTES = ("auth", "user", "resource", "admin")


@dataclass
class Aws:
    platform: TestPlatform
    queue_url: str

    @property
    def env(self) -> dict[str, str]:
        return self.platform.env("lambdas.api.resource.handler")


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


# Module scope: the moto mock must not outlive these tests (other modules start their own).
@pytest.fixture(scope="module")
def aws(github: GitHubStandIn) -> Iterator[Aws]:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                     "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            mp.setenv(k, v)
        with mock_aws():
            platform = provision(
                github_secret=github.secret(),
                extra_env={"": {Env.GITHUB_URL: github.url, Env.GITHUB_API_URL: github.url}},
            )
            # What reaches the pipeline bus, seen through a queue.
            bus = platform.env("lambdas.api.resource.handler")[Env.EVENT_BUS]
            events, sqs = platform.admin.client("events"), platform.admin.client("sqs")
            queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(
                Name="all", EventBusName=bus, EventPattern=json.dumps({"source": [names.EVENT_SOURCE]})
            )
            events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
            yield Aws(platform, queue)


def _empty(table: Any) -> None:
    keys = [k["AttributeName"] for k in table.key_schema]
    for item in table.scan()["Items"]:
        table.delete_item(Key={k: item[k] for k in keys})


@dataclass
class Api:
    """One test's platform: the functions as Lambda runs them, the stand-in and helpers to call them."""

    aws: Aws
    github: GitHubStandIn
    clock: list[float]
    handlers: dict[str, Handler] = field(default_factory=dict)

    @property
    def platform(self) -> TestPlatform:
        return self.aws.platform

    @property
    def store(self) -> Store:
        return self.platform.store()

    @property
    def routes(self) -> MemoryRouteStore:
        return self.platform.routes

    @property
    def env(self) -> dict[str, str]:
        return self.platform.env("lambdas.api.resource.handler")

    def restart(self, route: str, **changes: str) -> None:
        """The route's function in a new container whose environment has `changes`."""
        self.handlers[route] = self.platform.handler(
            f"lambdas.api.{route}.handler", changes, now=lambda: self.clock[0]
        )

    @property
    def admin(self) -> Clients:
        return self.platform.admin

    def session_key(self) -> bytes:
        return json.loads(self.platform.secret(Env.SESSION_KEY_SECRET_ARN))["secret"].encode()

    def origin_secret(self) -> str:
        return self.platform.secret(Env.ORIGIN_SECRET_ARN)

    def call(
        self,
        method: str,
        path: str,
        *,
        session: str | None = None,
        origin_secret: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        cookies = dict(kw.pop("cookies", None) or {})
        if session:
            cookies[names.SESSION_COOKIE] = session
        secret = self.origin_secret() if origin_secret is None else origin_secret
        headers = {names.ORIGIN_SECRET_HEADER: secret, **(kw.pop("headers", None) or {})}
        event = http_event(method, path, cookies=cookies, headers=headers, **kw)
        response: dict[str, Any] = self.handlers[path.split("/")[2]](event, None)
        return response

    def session_for(self, user: User) -> str:
        return sessions.issue_session(
            self.session_key(),
            domain=DOMAIN,
            user_id=user.id,
            version=user.session_version,
            now=lambda: self.clock[0],
        )

    def add_user(
        self,
        id: str = "1001",
        login: str = "alice",
        roles: list[Role] | None = None,
        subscription: str | None = "basic",
        installation_id: int | None = 501,
    ) -> tuple[User, str]:
        user = User(
            id=id,
            login=login,
            roles=roles or [Role.USER],
            subscription_id=subscription,
            installation_id=installation_id,
        )
        if int(id) in self.github.accounts:  # signed in through GitHub: holds the user's token
            user = signed_in(user, self.github, self.admin.client("kms"), self.env[Env.TOKEN_KEY_ARN])
        self.store.users.create(user)
        return user, self.session_for(user)

    def add_subscription(self, id: str = "basic", **limits: int) -> Subscription:
        subscription = Subscription(id=id, name=id.title(), limits=Limits(**limits))
        self.store.subscriptions.put(subscription)
        return subscription

    def pipeline_events(self) -> list[dict[str, Any]]:
        sqs = self.admin.client("sqs")
        found = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.aws.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for m in messages:
                found.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.aws.queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def api(aws: Aws, github: GitHubStandIn) -> Iterator[Api]:
    store = aws.platform.store()
    for repo in (store.users, store.projects, store.subscriptions, store.deployments):
        _empty(repo.table)
    _empty(store.nonces)
    aws.platform.routes.data.clear()
    github.reset()
    clock = [time.time()]
    api = Api(aws, github, clock)
    # Fresh functions (a cold start) per test, each with its environment and role from the template.
    api.handlers = {route: aws.platform.handler(f"lambdas.api.{route}.handler", now=lambda: clock[0])
                    for route in ROUTES}
    api.pipeline_events()  # drain
    yield api


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


@pytest.fixture
def alice_repo(github: GitHubStandIn) -> Callable[[], Repo]:
    def make() -> Repo:
        account = github.add_account(1001, "alice")
        repo = Repo(7001, "shop", "alice")
        github.install(501, account, [repo, Repo(7002, "blog", "alice", default_branch="trunk")])
        return repo

    return make


ORG_INSTALLATION = 600
SECRET_REPO = Repo(8001, "secret", "acme", private=True)
HANDBOOK = Repo(8002, "handbook", "acme", private=True)


@pytest.fixture
def org(api: Api) -> dict[str, str]:
    """acme installed the App on two private repositories; alice (a member) has access to `secret`,
    bob (a member too) to `handbook` only."""
    github = api.github
    acme = github.add_account(5000, "acme")
    alice, bob = github.add_account(1001, "alice"), github.add_account(1002, "bob")
    github.install(ORG_INSTALLATION, acme, [SECRET_REPO, HANDBOOK])
    github.grant_access(ORG_INSTALLATION, alice, [SECRET_REPO.id])
    github.grant_access(ORG_INSTALLATION, bob, [HANDBOOK.id])
    api.add_subscription("basic", project_count=3, daily_builds=5)
    sessions = {}
    for user_id, login in (("1001", "alice"), ("1002", "bob")):
        sessions[login] = api.add_user(user_id, login, installation_id=ORG_INSTALLATION)[1]
    return sessions


__all__ = ["HANDBOOK", "ORG_INSTALLATION", "SECRET_REPO", "Api", "body"]
