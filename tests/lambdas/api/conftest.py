"""The API functions against moto (DynamoDB, Secrets Manager, KMS, Logs, EventBridge → SQS) and the
real local GitHub stand-in. AWS is set up once per module, the stand-in once per session; every test
starts with empty tables, a fresh route store and a reset stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.github import GitHubStandIn, Repo
from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.api import admin, auth, context, resource, user
from lambdas.shared import names, secrets, sessions
from lambdas.shared.models import Limits, Role, Subscription, User
from lambdas.shared.names import Env
from lambdas.shared.store import Store
from tests.support.events import DOMAIN, http_event
from tests.support.tables import create_tables

STACK = "battleshiper"
ORIGIN_SECRET = "origin-secret-value"
MODULES: dict[str, ModuleType] = {"auth": auth, "user": user, "resource": resource, "admin": admin}


@dataclass
class Aws:
    env: dict[str, str]
    queue_url: str


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


# Module scope: the moto mock must not outlive these tests (other modules start their own).
@pytest.fixture(scope="module")
def aws(github: GitHubStandIn) -> Iterator[Aws]:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }.items():
            mp.setenv(k, v)
        with mock_aws():
            secrets.secret_string.cache_clear()
            env = create_tables(boto3.client("dynamodb"), STACK)
            sm = boto3.client("secretsmanager")

            def secret(name: str, value: Any) -> str:
                return str(
                    sm.create_secret(
                        Name=name, SecretString=json.dumps(value) if not isinstance(value, str) else value
                    )["ARN"]
                )

            n = names.Names(STACK)
            env[Env.SESSION_KEY_SECRET_ARN] = secret(n.session_key_secret, {"secret": "session-key" * 4})
            env[Env.TICKET_KEY_SECRET_ARN] = secret(n.ticket_key_secret, {"secret": "ticket-key" * 4})
            env[Env.ORIGIN_SECRET_ARN] = secret(n.origin_secret, ORIGIN_SECRET)
            env[Env.GITHUB_SECRET_ARN] = secret("github-app", github.secret())
            env[Env.TOKEN_KEY_ARN] = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
            events = boto3.client("events")
            bus = events.create_event_bus(Name=n.bus)["EventBusArn"]
            sqs = boto3.client("sqs")
            queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(
                Name="all", EventBusName=n.bus, EventPattern=json.dumps({"source": [names.EVENT_SOURCE]})
            )
            events.put_targets(Rule="all", EventBusName=n.bus, Targets=[{"Id": "q", "Arn": queue_arn}])
            env |= {
                Env.STACK: STACK,
                Env.DOMAIN: DOMAIN,
                Env.EVENT_BUS: bus.split("/")[-1],
                Env.ADMIN_GITHUB_USER: "TheAdmin",
                Env.GITHUB_URL: github.url,
                Env.GITHUB_API_URL: github.url,
                Env.BUILD_BUCKET: "build-bucket",
            }
            boto3.client("s3").create_bucket(
                Bucket="build-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
            )
            yield Aws(env, queue)
            secrets.secret_string.cache_clear()


def _empty(table: Any) -> None:
    keys = [k["AttributeName"] for k in table.key_schema]
    for item in table.scan()["Items"]:
        table.delete_item(Key={k: item[k] for k in keys})


@dataclass
class Api:
    """One test's platform: the functions' dependencies, the stand-in and helpers to call them."""

    deps: context.ApiDeps
    github: GitHubStandIn
    aws: Aws
    clock: list[float]

    @property
    def store(self) -> Store:
        return self.deps.store

    @property
    def routes(self) -> MemoryRouteStore:
        store = self.deps.route_store
        assert isinstance(store, MemoryRouteStore)
        return store

    def call(
        self,
        method: str,
        path: str,
        *,
        session: str | None = None,
        origin_secret: str = ORIGIN_SECRET,
        **kw: Any,
    ) -> dict[str, Any]:
        cookies = dict(kw.pop("cookies", None) or {})
        if session:
            cookies[names.SESSION_COOKIE] = session
        headers = {names.ORIGIN_SECRET_HEADER: origin_secret, **(kw.pop("headers", None) or {})}
        event = http_event(method, path, cookies=cookies, headers=headers, **kw)
        module = MODULES[path.split("/")[2]]
        response: dict[str, Any] = module.handler(event, None)
        return response

    def session_for(self, user: User) -> str:
        return sessions.issue_session(
            self.deps.session_key(),
            domain=DOMAIN,
            user_id=user.id,
            version=user.session_version,
            now=self.deps.now,
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
        self.store.users.create(user)
        return user, self.session_for(user)

    def add_subscription(self, id: str = "basic", **limits: int) -> Subscription:
        subscription = Subscription(id=id, name=id.title(), limits=Limits(**limits))
        self.store.subscriptions.put(subscription)
        return subscription

    def pipeline_events(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
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
    dynamodb = boto3.resource("dynamodb")
    for table in names.TABLES:
        _empty(
            dynamodb.Table(
                aws.env[
                    {
                        "users": Env.USERS_TABLE,
                        "projects": Env.PROJECTS_TABLE,
                        "subscriptions": Env.SUBSCRIPTIONS_TABLE,
                        "deployments": Env.DEPLOYMENTS_TABLE,
                        "nonces": Env.NONCES_TABLE,
                    }[table]
                ]
            )
        )
    github.reset()
    clock = [time.time()]
    deps = context.ApiDeps(
        env=dict(aws.env),
        store=Store(dynamodb, aws.env),
        route_store=MemoryRouteStore(),
        now=lambda: clock[0],
    )
    context.use(deps)
    api = Api(deps, github, aws, clock)
    api.pipeline_events()  # drain
    yield api
    context.use(None)


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


__all__ = ["Api", "body"]
