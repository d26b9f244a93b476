"""The pipeline against moto: tables, buckets, the bus (build events go to an SQS queue), a project's
server function as its stack leaves it (no version, no `live` alias: the pipeline owns those), an
in-memory route store."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.shared import names
from lambdas.shared.builds import Deps
from lambdas.shared.models import Project, ProjectStatus, Repository, Subscription, User
from lambdas.shared.names import Env
from lambdas.shared.store import Store
from tests.lambdas.pipeline.support import QUEUE_ARN, STACK
from tests.support.tables import create_tables

REGION = "us-east-1"
TICKET_KEY = b"t" * 64
TOKEN = "ghs_secret_installation_token"


@dataclass
class World:
    deps: Deps
    routes: MemoryRouteStore
    sqs: Any
    queue_url: str
    iam_role: str

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
            store.users.put(User(id=owner, login="octo", subscription_id="basic", installation_id=55))
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
        client = self.deps.lambda_
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.mjs", "export const handler = async () => ({statusCode: 503});")
        function = names.Names(STACK).project_function(project)
        client.create_function(
            FunctionName=function,
            Runtime="nodejs22.x",
            Role=self.iam_role,
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


@pytest.fixture
def world() -> Iterator[World]:
    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    with mock_aws():
        env = create_tables(boto3.client("dynamodb", region_name=REGION), STACK)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in ("project-bucket", "build-bucket", "artifacts-bucket"):
            s3.create_bucket(Bucket=bucket)
        events = boto3.client("events", region_name=REGION)
        bus = names.Names(STACK).bus
        events.create_event_bus(Name=bus)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all", EventBusName=bus, EventPattern=json.dumps({"source": [names.EVENT_SOURCE]})
        )
        events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="server", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        env |= {
            Env.STACK: STACK,
            Env.EVENT_BUS: bus,
            Env.BUILD_BUCKET: "build-bucket",
            Env.PROJECT_BUCKET: "project-bucket",
            Env.ARTIFACTS_BUCKET: "artifacts-bucket",
            Env.BUILD_QUEUE_ARN: QUEUE_ARN,
            Env.KEEP_DEPLOYMENTS: "3",
            Env.TICKET_KEY_SECRET_ARN: "unused-in-tests",
            Env.GITHUB_URL: "https://github.example",
        }
        routes = MemoryRouteStore()
        deps = Deps(
            store=Store(boto3.resource("dynamodb", region_name=REGION), env),
            env=env,
            s3=s3,
            events=events,
            lambda_=boto3.client("lambda", region_name=REGION),
            cloudformation=boto3.client("cloudformation", region_name=REGION),
            logs=boto3.client("logs", region_name=REGION),
            routes=routes,
            mint_installation_token=lambda installation, repository: TOKEN,
            sleep=lambda _s: None,
            workers=8,
        )
        yield World(deps, routes, sqs, queue_url, role)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
