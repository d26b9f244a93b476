"""`battleshiper delete` end to end: CloudFormation scripted by the fake, S3/DynamoDB/Logs in moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli import teardown
from battleshiper_cli.errors import OperationFailed
from battleshiper_cli.main import app
from tests.cli.fakes import ACCOUNT, REGION, FakeCloudFormation
from tests.cli.runner import FAKES, Runner
from tests.cli.runner import on_terminal as terminal_prompter

STACK = "battleshiper"
PROJECT_STACK = "battleshiper-project-blog"
PROJECT_BUCKET = "battleshiper-projectbucket-1a2b3c"
BUILD_BUCKET = "battleshiper-buildassetbucket-4d5e6f"
ARTIFACTS = f"battleshiper-artifacts-{ACCOUNT}-{REGION}"
ENI_REASON = (
    "The subnet 'subnet-0a1b2c' has dependencies and cannot be deleted. "
    "(Service: Ec2, Status Code: 400, Error Code: DependencyViolation)"
)

runner = Runner()


def platform_template() -> dict[str, Any]:
    return {
        "Resources": {
            "ProjectBucket": {"Type": "AWS::S3::Bucket", "PhysicalResourceId": PROJECT_BUCKET},
            "BuildAssetBucket": {"Type": "AWS::S3::Bucket", "PhysicalResourceId": BUILD_BUCKET},
            # User data outlives the stack; replay-protection nonces do not (templates/data.py).
            "UsersTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "PhysicalResourceId": "battleshiper-users",
            },
            "NoncesTable": {"Type": "AWS::DynamoDB::Table", "PhysicalResourceId": "battleshiper-nonces"},
            "BuildSubnetA": {"Type": "AWS::EC2::Subnet"},
            "ProjectStackRole": {"Type": "AWS::IAM::Role"},
            "TokenKey": {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                "PhysicalResourceId": "key-0123",
            },
        }
    }


class Sleeps:
    """Stands in for time.sleep: each sleep lets CloudFormation (the fake) move on; `on_backoff` lets a
    test change the world while the CLI waits before retrying."""

    def __init__(self, cfn: FakeCloudFormation) -> None:
        self.cfn = cfn
        self.backoffs: list[float] = []
        self.on_backoff: Any = None

    def __call__(self, seconds: float) -> None:
        if seconds >= min(teardown.BACKOFF_SECONDS):
            self.backoffs.append(seconds)
            if self.on_backoff:
                self.on_backoff()
        self.cfn.tick()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "COLUMNS": "250",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def cfn(aws: None, monkeypatch: pytest.MonkeyPatch) -> FakeCloudFormation:
    fake = FakeCloudFormation()
    fake.s3 = boto3.client("s3")
    fake.dynamodb = boto3.client("dynamodb")
    fake.events_per_tick = 4  # a delete takes a few polls, as on AWS
    monkeypatch.setitem(FAKES, "cloudformation", fake)
    return fake


@pytest.fixture
def sleeps(cfn: FakeCloudFormation, monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    recorder = Sleeps(cfn)
    monkeypatch.setattr(time, "sleep", recorder)
    return recorder


@pytest.fixture
def platform(cfn: FakeCloudFormation) -> FakeCloudFormation:
    """An installed platform with one project: versioned buckets with history, a table, a log group."""
    s3 = boto3.client("s3")
    for bucket in (PROJECT_BUCKET, BUILD_BUCKET, ARTIFACTS):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for version in range(3):
        s3.put_object(Bucket=PROJECT_BUCKET, Key="blog/d1/index.html", Body=f"v{version}".encode())
    s3.delete_object(Bucket=PROJECT_BUCKET, Key="blog/d1/index.html")  # a delete marker
    s3.put_object(Bucket=BUILD_BUCKET, Key="blog/build.zip", Body=b"zip")
    s3.put_object(Bucket=ARTIFACTS, Key="api/abc.zip", Body=b"zip")
    for table in ("battleshiper-users", "battleshiper-nonces"):
        boto3.client("dynamodb").create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
    boto3.client("logs").create_log_group(logGroupName="/battleshiper/project/blog/build")

    cfn.add_stack(STACK, template=platform_template())
    cfn.add_stack(
        PROJECT_STACK,
        template={"Resources": {"ServerFunction": {"Type": "AWS::Lambda::Function"}}},
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/battleshiper-ProjectStackRole",
    )
    return cfn


def invoke(*args: str, typed: str | None = None) -> Any:
    return runner.invoke(app, ["--region", REGION, *args], input=typed)


def deleted_stacks(cfn: FakeCloudFormation) -> list[str]:
    return [kw["StackName"] for name, kw in cfn.calls if name == "DeleteStack"]


def objects(bucket: str) -> int:
    return teardown.count_objects(boto3.client("s3"), bucket) or 0


def buckets() -> set[str]:
    return {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}


def tables() -> list[str]:
    return list(boto3.client("dynamodb").list_tables()["TableNames"])


def on_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "prompter", terminal_prompter)


def test_refuses_off_a_terminal_without_yes(platform: FakeCloudFormation, sleeps: Sleeps) -> None:
    result = invoke("delete")
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert deleted_stacks(platform) == []
    assert objects(PROJECT_BUCKET) == 4 and ARTIFACTS in buckets() and len(tables()) == 2


def test_lists_what_it_will_delete_before_asking(platform: FakeCloudFormation, sleeps: Sleeps) -> None:
    result = invoke("delete")
    for shown in (
        PROJECT_STACK,
        STACK,
        PROJECT_BUCKET,
        "4 object versions",
        ARTIFACTS,
        "battleshiper-users",
        "/battleshiper/project/blog/build",
    ):
        assert shown in result.output


def test_wrong_name_declines_and_deletes_nothing(
    platform: FakeCloudFormation, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_terminal(monkeypatch)
    result = invoke("delete", typed="battleship\n")
    assert result.exit_code == 1
    assert "nothing was deleted" in result.output
    assert deleted_stacks(platform) == []
    assert objects(PROJECT_BUCKET) == 4 and ARTIFACTS in buckets()


def test_typing_the_name_deletes_everything_in_order(
    platform: FakeCloudFormation, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_terminal(monkeypatch)
    result = invoke("delete", typed=f"{STACK}\n")
    assert result.exit_code == 0, result.output
    # Project stacks go while the platform stack (holding their service role) still exists.
    assert deleted_stacks(platform) == [PROJECT_STACK, STACK]
    # The fake fails a stack delete on a non-empty bucket, as CloudFormation does: so they were emptied
    # (versions and delete markers) before, and are gone now, the artifacts bucket too.
    assert buckets() == set()
    assert tables() == []
    assert boto3.client("logs").describe_log_groups()["logGroups"] == []
    assert "deleted 2 stacks, 3 buckets, 1 log group and 2 tables" in result.output
    assert (
        "AWS::KMS::Key  TokenKey  key-0123" in result.output
    )  # retained by the template: the operator is told


def test_network_interfaces_holding_the_vpc_are_waited_out(
    platform: FakeCloudFormation, sleeps: Sleeps
) -> None:
    platform.fail_delete = {"BuildSubnetA": ENI_REASON}
    sleeps.on_backoff = platform.fail_delete.clear  # AWS releases the interfaces while we wait
    result = invoke("--yes", "delete")
    assert result.exit_code == 0, result.output
    assert deleted_stacks(platform) == [PROJECT_STACK, STACK, STACK]
    assert sleeps.backoffs == [teardown.BACKOFF_SECONDS[0]]
    assert buckets() == set()


def test_persistent_failure_exits_3_and_lists_what_is_left(
    platform: FakeCloudFormation, sleeps: Sleeps
) -> None:
    platform.fail_delete = {"BuildSubnetA": ENI_REASON}
    result = invoke("--yes", "delete")
    assert result.exit_code == 3
    assert deleted_stacks(platform) == [PROJECT_STACK] + [STACK] * teardown.DELETE_ATTEMPTS
    assert len(sleeps.backoffs) == teardown.DELETE_ATTEMPTS - 1
    assert "Still there" in result.output and "DELETE_FAILED" in result.output
    assert "BuildSubnetA" in result.output
    # The artifacts bucket stays while a stack remains that may need it.
    assert ARTIFACTS in buckets() and objects(ARTIFACTS) == 1
    assert "run `battleshiper delete` again" in result.output


def test_a_failed_project_stack_keeps_the_platform_and_its_data(
    platform: FakeCloudFormation, sleeps: Sleeps
) -> None:
    platform.fail_delete = {"ServerFunction": "Lambda was unable to delete the function: AccessDenied"}
    result = invoke("--yes", "delete")
    assert result.exit_code == 3
    assert deleted_stacks(platform) == [PROJECT_STACK]  # no retry: not a network-interface failure
    assert sleeps.backoffs == []
    assert objects(PROJECT_BUCKET) == 4
    left = result.output.split("Still there", 1)[1]
    for shown in (PROJECT_STACK, "DELETE_FAILED", STACK, PROJECT_BUCKET, "4 object versions", ARTIFACTS):
        assert shown in left


def test_rerun_after_a_partial_delete_finishes_the_job(platform: FakeCloudFormation, sleeps: Sleeps) -> None:
    platform.fail_delete = {"ServerFunction": "Lambda was unable to delete the function: AccessDenied"}
    assert invoke("--yes", "delete").exit_code == 3
    platform.fail_delete = {}
    result = invoke("--yes", "delete")
    assert result.exit_code == 0, result.output
    assert buckets() == set() and tables() == []


def test_keep_data_leaves_retained_tables_and_says_how_to_remove_them(
    platform: FakeCloudFormation, sleeps: Sleeps
) -> None:
    result = invoke("--yes", "delete", "--keep-data")
    assert result.exit_code == 0, result.output
    assert "deleted with its stack" in result.output  # the nonces table, DeletionPolicy Delete
    assert tables() == ["battleshiper-users"]
    assert buckets() == set()
    assert "aws dynamodb delete-table --region us-east-1 --table-name battleshiper-users" in result.output
    # Nothing left to delete apart from the kept data.
    again = invoke("--yes", "delete", "--keep-data")
    assert again.exit_code == 0 and "nothing to delete" in again.output


def test_a_stack_mid_update_is_not_touched(cfn: FakeCloudFormation, sleeps: Sleeps) -> None:
    cfn.add_stack(STACK, status="UPDATE_IN_PROGRESS", template=platform_template())
    result = invoke("--yes", "delete")
    assert result.exit_code == 2
    assert "UPDATE_IN_PROGRESS" in result.output
    assert deleted_stacks(cfn) == []


def test_nothing_to_delete(cfn: FakeCloudFormation, sleeps: Sleeps) -> None:
    result = invoke("delete")
    assert result.exit_code == 0
    assert "nothing to delete" in result.output


def test_json_output_reports_found_and_left(platform: FakeCloudFormation, sleeps: Sleeps) -> None:
    result = invoke("--output", "json", "--yes", "delete")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [s["name"] for s in report["found"]["projects"]] == [PROJECT_STACK]
    assert {b["name"]: b["objects"] for b in report["found"]["buckets"]}[PROJECT_BUCKET] == 4
    assert report["left"]["platform"] is None and report["left"]["buckets"] == []


def test_another_installations_project_stacks_are_left_alone(
    platform: FakeCloudFormation, sleeps: Sleeps
) -> None:
    # A stack named `battleshiper-project` would own `battleshiper-project-project-<name>` stacks.
    platform.add_stack("battleshiper-project-project-x", tags={"battleshiper:stack": "battleshiper-project"})
    result = invoke("--yes", "delete")
    assert result.exit_code == 0, result.output
    assert "battleshiper-project-project-x" not in deleted_stacks(platform)


def test_empty_bucket_reports_keys_s3_refuses(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="locked")
    s3.put_object(Bucket="locked", Key="k", Body=b"x")

    class Refusing:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def delete_objects(self, **kw: Any) -> dict[str, Any]:
            return {"Errors": [{"Key": "k", "Code": "AccessDenied", "Message": "Access Denied"}]}

    with pytest.raises(OperationFailed, match="k: AccessDenied"):
        teardown.empty_bucket(Refusing(), "locked")
