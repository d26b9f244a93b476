"""The pipeline as Lambda runs it: the platform template provisioned into moto, each function's
dependencies built by its own `create` path from the template's environment and role (IAM enforced),
GitHub through the stand-in, the pipeline bus seen through an SQS queue, the route store's data in
memory. `world.deps` is the test's own unrestricted view, for setting up and looking."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from battleshiper_cli.local.github import GitHubStandIn, Repo
from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.shared import names
from lambdas.shared.deps import Deps
from lambdas.shared.models import Project, ProjectStatus, Repository, Subscription, User
from lambdas.shared.names import Env
from tests.lambdas.pipeline.support import STACK
from tests.support.github_tokens import signed_in
from tests.support.platform import TestPlatform, provision

REGION = "us-east-1"
TICKET_KEY = b"t" * 64
NO_SLEEP = {"sleep": lambda _s: None}


@dataclass
class World:
    platform: TestPlatform
    deps: Deps  # unrestricted: set-up and assertions
    github: GitHubStandIn
    sqs: Any
    queue_url: str

    @property
    def routes(self) -> MemoryRouteStore:
        return self.platform.routes

    def function(self, group: str, **overrides: Any) -> Deps:
        """`Deps` as the function builds them: "init", "deploy", "delete" (pipeline) or "webhook"."""
        module = "api" if group == "webhook" else "pipeline"
        return self.platform.deps(f"lambdas.{module}.{group}.handler", **{**NO_SLEEP, **overrides})

    @property
    def webhook(self) -> Deps:
        return self.function("webhook")

    @property
    def deploy(self) -> Deps:
        return self.function("deploy")

    @property
    def delete(self) -> Deps:
        return self.function("delete")

    @property
    def init(self) -> Deps:
        return self.function("init")

    @property
    def api(self) -> Deps:
        """What the resource API function triggers builds and rollbacks with."""
        return self.platform.deps("lambdas.api.resource.handler")

    def add_project(
        self,
        name: str = "shop",
        status: ProjectStatus = ProjectStatus.READY,
        owner: str = "101",
        limits: dict[str, int] | None = None,
        with_function: bool = True,
    ) -> Project:
        store = self.deps.store
        if store.users.get(id=owner) is None:
            store.subscriptions.put(Subscription(id="basic", name="Basic", limits=limits or {}))
            user = User(id=owner, login="octo", subscription_id="basic", installation_id=55)
            if int(owner) in self.github.accounts:  # signed in through GitHub: holds the user's token
                user = signed_in(user, self.github, self.deps.client("kms"), self.deps.env[Env.TOKEN_KEY_ARN])
            store.users.put(user)
        project = Project(
            name=name,
            owner_id=owner,
            status=status,
            stack_name=f"{STACK}-project-{name}",
            repository=Repository(id=7, full_name="octo/shop", installation_id=55),
        )
        store.projects.create(project)
        if with_function:
            self.add_function(name)
        for kind in names.PROJECT_LOG_KINDS:
            self.deps.logs.create_log_group(logGroupName=names.Names(STACK).project_log_group(name, kind))
        return project

    def log_lines(self, project: str, kind: str) -> list[str]:
        group = names.Names(STACK).project_log_group(project, kind)
        return [e["message"] for e in self.deps.logs.filter_log_events(logGroupName=group)["events"]]

    def add_function(self, project: str) -> None:
        """The project's server function as its stack creates it: placeholder code, no version, no
        alias (the pipeline creates `live` when it first goes live)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.mjs", "export const handler = async () => ({statusCode: 503});")
        role = self.platform.admin.client("iam").create_role(
            RoleName=f"{STACK}-project-{project}-server", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.deps.lambda_.create_function(
            FunctionName=names.Names(STACK).project_function(project),
            Runtime="nodejs22.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": buffer.getvalue()},
        )

    def build_messages(self) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in found]

    def live_alias(self, project: str = "shop") -> str:
        function = names.Names(STACK).project_function(project)
        return str(
            self.deps.lambda_.get_alias(FunctionName=function, Name=names.LIVE_ALIAS)["FunctionVersion"]
        )

    def issued_token(self, repository_id: int = 7) -> str:
        """The last installation token the stand-in issued for exactly that repository."""
        issued = self.github.installation_tokens.items()
        tokens = [t for t, i in issued if i.repository_ids == [repository_id]]
        assert tokens, "no repository-scoped token was issued"
        return tokens[-1]


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def world(github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    github.reset()
    octo = github.add_account(101, "octo")
    github.install(55, octo, [Repo(7, "shop", "octo")])
    with mock_aws():
        platform = provision(
            github_secret=github.secret(),
            extra_env={"": {Env.GITHUB_URL: "https://github.example", Env.GITHUB_API_URL: github.url}},
        )
        ticket_arn = platform.env("lambdas.pipeline.delete.handler")[Env.TICKET_KEY_SECRET_ARN]
        platform.put_secret(ticket_arn, json.dumps({"secret": TICKET_KEY.decode()}))
        env: dict[str, str] = {}
        for function in platform.wiring.functions().values():
            env.update(function.environment)
        deps = Deps(env, platform.admin, routes=platform.routes, **NO_SLEEP)
        sqs = platform.admin.client("sqs")
        queue_url = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = platform.admin.client("events")
        events.put_rule(
            Name="all", EventBusName=env[Env.EVENT_BUS],
            EventPattern=json.dumps({"source": [names.EVENT_SOURCE]}),
        )
        events.put_targets(
            Rule="all", EventBusName=env[Env.EVENT_BUS], Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        yield World(platform, deps, github, sqs, queue_url)
