"""An installed platform in moto for the operator's project commands: the platform stack (Domain
parameter, outputs), the tables from the template, users, a subscription, projects, deployments,
project stacks and log groups."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.github import GitHubStandIn
from lambdas.shared.models import (
    BuildCounter,
    Deployment,
    DeploymentStatus,
    Limits,
    Lock,
    Project,
    ProjectStatus,
    Repository,
    Subscription,
    User,
)
from lambdas.shared.names import Names
from lambdas.shared.store import Store
from tests.support.github_tokens import signed_in
from tests.support.tables import create_tables

REGION = "us-east-1"
DOMAIN = "ship.example.com"
STACK = "battleshiper"
NAMES = Names(STACK)
CURRENT_TEMPLATE = "c" * 64
OLD_TEMPLATE = "0" * 64
BUILD_BUCKET = "battleshiper-buildassetbucket-1a2b3c"
PROJECT_BUCKET = "battleshiper-projectbucket-4d5e6f"


def platform_template() -> dict[str, Any]:
    return {
        "Parameters": {"Domain": {"Type": "String"}, "GitHubSecretArn": {"Type": "String", "Default": ""}},
        "Resources": {"PipelineLogGroup": {"Type": "AWS::Logs::LogGroup"}},
        "Outputs": {
            "ProjectTemplateHash": {"Value": CURRENT_TEMPLATE},
            "ProjectTemplateKey": {"Value": f"project-template/{CURRENT_TEMPLATE}.json"},
            "BuildAssetBucketName": {"Value": BUILD_BUCKET},
            "ProjectBucketName": {"Value": PROJECT_BUCKET},
        },
    }


@dataclass
class World:
    store: Store
    cfn: Any
    logs: Any

    def add_project_stack(self, project: str, template_hash: str) -> None:
        self.cfn.create_stack(
            StackName=NAMES.project_stack(project),
            TemplateBody=json.dumps({"Resources": {"Group": {"Type": "AWS::Logs::LogGroup"}}}),
            Tags=[{"Key": NAMES.template_hash_tag, "Value": template_hash}],
        )

    def token_key(self) -> Any:
        """The platform's KMS key (tokens, environment values) under its alias; a KMS client."""
        kms = boto3.client("kms", region_name=REGION)
        aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
        if NAMES.token_key_alias not in aliases:
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=NAMES.token_key_alias, TargetKeyId=key)
        return kms

    def sign_in(self, github: GitHubStandIn, user_id: str) -> None:
        """The user holds a GitHub grant, as after signing in (the platform's token key, by alias)."""
        kms = self.token_key()
        user = self.store.users.get(id=user_id)
        assert user is not None
        self.store.users.put(signed_in(user, github, kms, NAMES.token_key_alias))

    def put_events(self, project: str, kind: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Write (timestamp ms, message) events; creates the group and stream when missing."""
        group = NAMES.project_log_group(project, kind)
        if not self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            self.logs.create_log_group(logGroupName=group)
        streams = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        if stream not in {s["logStreamName"] for s in streams}:
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": t, "message": m} for t, m in events])


@contextmanager
def platform_world(monkeypatch: pytest.MonkeyPatch, *, create_stack: bool = True,
                   github_secret: dict[str, str] | None = None) -> Iterator[World]:
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        params = [{"ParameterKey": "Domain", "ParameterValue": DOMAIN}]
        if github_secret is not None:
            arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name="battleshiper-github", SecretString=json.dumps(github_secret))["ARN"]
            params.append({"ParameterKey": "GitHubSecretArn", "ParameterValue": arn})
        if create_stack:
            cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(platform_template()), Parameters=params)
        env = create_tables(boto3.client("dynamodb", region_name=REGION), STACK)
        store = Store(boto3.resource("dynamodb", region_name=REGION), env)
        yield World(store, cfn, boto3.client("logs", region_name=REGION))


NOW = int(time.time())


def seed(world: World) -> None:
    """alice (pro: 3 projects, 3 aliases, 5 builds a day) owns blog (live, locked, three deployments) and
    shop (creating); bob (no subscription) owns docs, whose stack runs an older project template."""
    s = world.store
    s.subscriptions.create(Subscription(id="pro", name="Pro", limits=Limits(project_count=3, alias_count=3,
                                                                            daily_builds=5)))
    s.users.create(User(id="101", login="alice", subscription_id="pro",
                        build_counter=BuildCounter(window_start=NOW // 86400 * 86400, count=2)))
    s.users.create(User(id="202", login="bob"))
    repo = Repository(id=1, full_name="alice/blog", installation_id=7)
    s.projects.create(Project(name="blog", owner_id="101", repository=repo, aliases=["blog", "www-blog"],
                              status=ProjectStatus.LIVE, live_deployment="20261101T100000-aaaaaa",
                              lock=Lock(owner="exec-42", expires_at=NOW + 600)))
    s.projects.create(Project(name="shop", owner_id="101", repository=repo, status=ProjectStatus.CREATING))
    s.projects.create(Project(name="docs", owner_id="202", repository=repo, status=ProjectStatus.FAILED,
                              status_reason="build failed: exit 1"))
    for deployment_id, status, commit in (
        ("20261101T100000-aaaaaa", DeploymentStatus.LIVE, "1111111aaaa"),
        ("20261101T090000-bbbbbb", DeploymentStatus.READY, "2222222bbbb"),
        ("20261102T080000-cccccc", DeploymentStatus.FAILED, "3333333cccc"),
    ):
        s.deployments.create(Deployment(project_name="blog", deployment_id=deployment_id, status=status,
                                        commit=commit, reason="npm ERR!" if status == "FAILED" else ""))
    world.add_project_stack("blog", CURRENT_TEMPLATE)
    world.add_project_stack("docs", OLD_TEMPLATE)
