"""`battleshiper project build|rollback|delete` through the pipeline's shared functions, against moto
(DynamoDB, S3, EventBridge to SQS, Lambda, Secrets Manager), the in-memory route store (moto has no
KeyValueStore data plane) and the local GitHub stand-in."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from battleshiper_cli.local.control import RouteStoreApi
from battleshiper_cli.local.github import GitHubStandIn, Repo
from battleshiper_cli.local.routes import MemoryRouteStore
from battleshiper_cli.main import app
from battleshiper_cli.project import steering
from lambdas.shared import names
from lambdas.shared.models import Deployment, DeploymentStatus, ProjectStatus
from tests.cli.project_support import BUILD_BUCKET, NAMES, REGION, World, platform_world, seed
from tests.cli.runner import FAKES, Runner, on_terminal

runner = Runner()


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, github: GitHubStandIn) -> Iterator[World]:
    github.reset()
    alice = github.add_account(101, "alice")
    github.install(7, alice, [Repo(1, "blog", "alice")])
    monkeypatch.setenv(names.Env.GITHUB_URL, github.url)
    monkeypatch.setenv(names.Env.GITHUB_API_URL, github.url)
    with platform_world(monkeypatch, github_secret=github.secret()) as w:
        seed(w)
        w.sign_in(github, "101")
        yield w


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--region", REGION, *args], input=stdin, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def bus_queue() -> str:
    """The pipeline bus with every pipeline event copied to a queue (moto delivers to SQS, not Lambda)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=NAMES.bus)
    events.put_rule(Name="all", EventBusName=NAMES.bus,
                    EventPattern=json.dumps({"source": [names.EVENT_SOURCE]}))
    events.put_targets(Rule="all", EventBusName=NAMES.bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_build_starts_a_build_through_the_pipeline(world: World) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUILD_BUCKET)
    world.logs.create_log_group(logGroupName=NAMES.project_log_group("blog", "event"))
    queue = bus_queue()

    code, out = run("--output", "json", "project", "build", "blog", "--commit", "abc1234")
    assert code == 0, out
    deployment = json.loads(out[out.index("{"):])
    assert deployment["status"] == "BUILDING"
    assert deployment["commit"] == "abc1234"
    assert deployment["triggered_by"] == steering.TRIGGERED_BY
    execution = deployment["deployment_id"]

    record = world.store.deployments.get(project_name="blog", deployment_id=execution)
    assert record is not None and record.status == DeploymentStatus.BUILDING
    project = world.store.projects.get(name="blog")
    assert project is not None and project.status == ProjectStatus.BUILDING
    spec = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUILD_BUCKET, Key=names.build_spec_key("blog", execution))["Body"].read())
    assert spec["clone_url"].endswith("/alice/blog.git")
    assert spec["token"]  # minted by the GitHub App for this one repository
    [event] = received(queue)
    assert event["detail-type"] == names.build_detail_type("blog")
    assert event["detail"] == {names.BUILD_EXECUTION_FIELD: execution}
    user = world.store.users.get(id="101")
    assert user is not None and user.build_counter.count == 3  # one more build counted today

    # The request shows up in the project's event log.
    code, out = run("--output", "json", "project", "logs", "blog", "--kind", "event")
    assert execution in out


def test_a_refused_build_is_one_line_and_exit_2(world: World) -> None:
    code, out = run("project", "build", "shop")  # still being created: no stack to build in
    assert code == 2, out
    assert "build of shop not started" in out
    assert "Traceback" not in out


def server_function(versions: int) -> list[str]:
    """The project's server function with `versions` published versions and the live alias on the last."""
    lambda_ = boto3.client("lambda", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="srv", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    published = []
    for i in range(versions):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.mjs", f"export const handler = () => {i};")
        if i == 0:
            lambda_.create_function(FunctionName=NAMES.project_function("blog"), Runtime="nodejs22.x",
                                    Role=role, Handler="index.handler", Code={"ZipFile": buffer.getvalue()})
        else:
            lambda_.update_function_code(FunctionName=NAMES.project_function("blog"),
                                         ZipFile=buffer.getvalue())
        published.append(lambda_.publish_version(FunctionName=NAMES.project_function("blog"))["Version"])
    lambda_.create_alias(FunctionName=NAMES.project_function("blog"), Name=names.LIVE_ALIAS,
                         FunctionVersion=published[-1])
    return published


def test_rollback_makes_the_previous_deployment_live(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    v1, v2 = server_function(2)
    # The route store's data plane is not in moto: its API over an in-memory store.
    routes = MemoryRouteStore({names.live_key("blog"): "20261101T100000-aaaaaa"})
    arn = f"arn:aws:cloudfront::123456789012:key-value-store/{NAMES.route_store}"
    kvs = RouteStoreApi(routes, NAMES.route_store, arn)
    monkeypatch.setitem(FAKES, "cloudfront", kvs.control_plane())
    monkeypatch.setitem(FAKES, "cloudfront-keyvaluestore", kvs)
    store = world.store
    store.projects.update({"name": "blog"}, {"lock": None})
    store.deployments.put(Deployment(project_name="blog", deployment_id="20261101T100000-aaaaaa",
                                     status=DeploymentStatus.LIVE, function_version=v2))
    store.deployments.put(Deployment(project_name="blog", deployment_id="20261101T090000-bbbbbb",
                                     status=DeploymentStatus.READY, function_version=v1))

    code, out = run("project", "rollback", "blog")
    assert code == 0, out
    assert "20261101T090000-bbbbbb is live" in out
    assert routes.get(names.live_key("blog")) == "20261101T090000-bbbbbb"
    alias = boto3.client("lambda", region_name=REGION).get_alias(
        FunctionName=NAMES.project_function("blog"), Name=names.LIVE_ALIAS)
    assert alias["FunctionVersion"] == v1
    project = store.projects.get(name="blog")
    assert project is not None and project.live_deployment == "20261101T090000-bbbbbb"

    code, out = run("project", "rollback", "blog", "--to", "20261102T080000-cccccc")  # failed: not kept
    assert code == 2, out
    assert "not kept for rollback" in out


def test_delete_asks_for_the_name_and_sends_a_ticketed_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=NAMES.ticket_key_secret, SecretString=json.dumps({"secret": "k" * 32}))
    queue = bus_queue()

    code, out = run("project", "delete", "blog")  # no terminal, no --yes
    assert code == 2, out
    assert "--yes" in out

    monkeypatch.setattr(runner, "prompter", on_terminal)
    code, out = run("project", "delete", "blog", stdin="blgo\n")
    assert code == 1, out
    assert "not deleted" in out
    assert received(queue) == []

    code, out = run("project", "delete", "blog", stdin="blog\n")
    assert code == 0, out
    [event] = received(queue)
    assert event["detail-type"] == names.DELETE_DETAIL_TYPE
    assert event["detail"]["project"] == "blog"
    assert event["detail"][names.TICKET_DETAIL_FIELD]

    code, out = run("--yes", "project", "delete", "docs")
    assert code == 0, out
    assert received(queue)[0]["detail"]["project"] == "docs"


def test_a_build_of_a_repository_the_owner_lost_access_to_is_refused_with_the_reason(
    world: World, github: GitHubStandIn
) -> None:
    github.installations[7].repositories.clear()  # taken out of alice's installation
    code, out = run("project", "build", "blog")
    assert code == 2, out
    assert "build of blog not started" in out and "no access to the repository" in out
    assert len(out.strip().splitlines()) == 1
    project = world.store.projects.get(name="blog")
    assert project is not None and project.status == ProjectStatus.FAILED
    assert "alice/blog" in project.status_reason and "no access" in project.status_reason
