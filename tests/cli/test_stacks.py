"""StackOps against the scripted CloudFormation fake: change sets, live events, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from battleshiper_cli.errors import AwsError, OperationFailed
from battleshiper_cli.stacks import StackOps
from tests.cli.fakes import FakeCloudFormation

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Name": {"Type": "String"}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Ref": "Name"}}},
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {"Hash": {"Value": "abc"}},
}
PARAMS = [{"ParameterKey": "Name", "ParameterValue": "t1"}]


def ops(fake: FakeCloudFormation, events: list[dict[str, Any]] | None = None) -> StackOps:
    return StackOps(fake, sleep=fake.tick, poll_seconds=0,
                    on_event=events.append if events is not None else None)


def create(fake: FakeCloudFormation, stack_ops: StackOps) -> str:
    cs = stack_ops.create_change_set("demo", template_body=json.dumps(TEMPLATE), parameters=PARAMS,
                                     change_set_type="CREATE", capabilities=["CAPABILITY_IAM"])
    since = stack_ops.latest_event_time("demo")
    assert since is not None
    stack_ops.execute_change_set(cs)
    return stack_ops.wait("demo", since, target="create")


def test_create_change_set_lists_every_change_across_pages() -> None:
    fake = FakeCloudFormation()
    cs = ops(fake).create_change_set("demo", template_body=json.dumps(TEMPLATE), parameters=PARAMS,
                                     change_set_type="CREATE", capabilities=["CAPABILITY_IAM"],
                                     tags={"battleshiper:stack": "demo"})
    assert not cs.empty
    ids = sorted(c["ResourceChange"]["LogicalResourceId"] for c in cs.changes)
    assert ids == ["Bucket", "Queue", "Table", "Topic"]
    assert fake.page_size < len(cs.changes)  # the listing really was paged


def test_events_stream_in_order_once_each_while_polling() -> None:
    fake = FakeCloudFormation()
    fake.events_per_tick = 2
    events: list[dict[str, Any]] = []
    assert create(fake, ops(fake, events)) == "CREATE_COMPLETE"
    ids = [e["EventId"] for e in events]
    assert len(ids) == len(set(ids)), "an event was shown twice"
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
    assert statuses[0] == ("demo", "CREATE_IN_PROGRESS")
    assert statuses[-1] == ("demo", "CREATE_COMPLETE")
    assert ("Table", "CREATE_COMPLETE") in statuses
    assert [e["Timestamp"] for e in events] == sorted(e["Timestamp"] for e in events)
    assert fake.count("DescribeStacks") > 3  # it really polled
    assert ops(fake).outputs("demo") == {"Hash": "abc"}


def test_failed_create_names_the_resource_and_reason() -> None:
    fake = FakeCloudFormation()
    fake.fail_resources = {"Queue": "Resource handler returned message: Access Denied"}
    events: list[dict[str, Any]] = []
    with pytest.raises(OperationFailed) as failure:
        create(fake, ops(fake, events))
    assert failure.value.exit_code == 3
    assert "ROLLBACK_COMPLETE" in failure.value.message
    message = failure.value.message
    assert "Queue (AWS::SQS::Queue): Resource handler returned message: Access Denied" in message
    assert "Resource creation cancelled" not in failure.value.message
    assert any(e["ResourceStatus"] == "CREATE_FAILED" and e["LogicalResourceId"] == "Queue" for e in events)


def test_events_before_since_are_not_shown() -> None:
    fake = FakeCloudFormation()
    fake.add_stack("demo", template=TEMPLATE, parameters={"Name": "t1"})
    events: list[dict[str, Any]] = []
    stack_ops = ops(fake, events)
    changed = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"], "Extra": {"Type": "AWS::SQS::Queue"}}}
    cs = stack_ops.create_change_set("demo", template_body=json.dumps(changed), parameters=PARAMS,
                                     change_set_type="UPDATE", capabilities=[])
    assert [c["ResourceChange"]["Action"] for c in cs.changes] == ["Add"]
    since = stack_ops.latest_event_time("demo")
    assert since is not None
    stack_ops.execute_change_set(cs)
    assert stack_ops.wait("demo", since, target="update") == "UPDATE_COMPLETE"
    assert all(e["ResourceStatus"].startswith("UPDATE") or e["LogicalResourceId"] == "Extra" for e in events)


def test_unchanged_update_gives_an_empty_change_set() -> None:
    fake = FakeCloudFormation()
    fake.add_stack("demo", template=TEMPLATE, parameters={"Name": "t1"})
    cs = ops(fake).create_change_set("demo", template_body=json.dumps(TEMPLATE),
                                     parameters=[{"ParameterKey": "Name", "UsePreviousValue": True}],
                                     change_set_type="UPDATE", capabilities=[])
    assert cs.empty and cs.changes == []


def test_parameter_change_modifies_the_resources_using_it() -> None:
    fake = FakeCloudFormation()
    fake.add_stack("demo", template=TEMPLATE, parameters={"Name": "t1"})
    cs = ops(fake).create_change_set("demo", template_body=json.dumps(TEMPLATE),
                                     parameters=[{"ParameterKey": "Name", "ParameterValue": "t2"}],
                                     change_set_type="UPDATE", capabilities=[])
    changes = [(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in cs.changes]
    assert changes == [("Modify", "Table")]


def test_change_set_failure_for_another_reason_is_an_error() -> None:
    class Rejecting(FakeCloudFormation):
        def describe_change_set(self, **kw: Any) -> dict[str, Any]:
            reason = "Template format error: unresolved resource dependencies"
            return {"Status": "FAILED", "StatusReason": reason}

    with pytest.raises(AwsError, match="unresolved resource dependencies"):
        ops(Rejecting()).create_change_set("demo", template_body=json.dumps(TEMPLATE), parameters=PARAMS,
                                           change_set_type="CREATE", capabilities=[])


def test_failed_update_rolls_back_and_raises() -> None:
    fake = FakeCloudFormation()
    fake.add_stack("demo", template=TEMPLATE, parameters={"Name": "t1"})
    fake.fail_resources = {"Table": "Table already exists"}
    stack_ops = ops(fake)
    cs = stack_ops.create_change_set("demo", template_body=json.dumps(TEMPLATE),
                                     parameters=[{"ParameterKey": "Name", "ParameterValue": "t2"}],
                                     change_set_type="UPDATE", capabilities=[])
    since = stack_ops.latest_event_time("demo")
    assert since is not None
    stack_ops.execute_change_set(cs)
    with pytest.raises(OperationFailed, match=r"UPDATE_ROLLBACK_COMPLETE: Table .*Table already exists"):
        stack_ops.wait("demo", since, target="update")
    stack = fake.stack("demo")
    assert stack is not None and stack.parameters == {"Name": "t1"}  # the old version stays


def test_delete_waits_until_the_stack_is_gone() -> None:
    fake = FakeCloudFormation()
    fake.add_stack("demo", template=TEMPLATE)
    fake.events_per_tick = 1
    events: list[dict[str, Any]] = []
    stack_ops = ops(fake, events)
    since = datetime.now(UTC) - timedelta(microseconds=1)
    stack_ops.delete_stack("demo", retain=["Bucket"])
    assert stack_ops.wait("demo", since, target="delete") == "DELETE_COMPLETE"
    assert ("Bucket", "DELETE_SKIPPED") in [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
    assert stack_ops.describe("demo") is None


def test_list_stacks_pages_and_filters_by_prefix() -> None:
    fake = FakeCloudFormation()
    for name in ("demo-project-a", "demo-project-b", "other", "demo-project-c", "demo-project-d"):
        fake.add_stack(name)
    fake.add_stack("demo-project-gone", status="DELETE_COMPLETE")
    names = [s["StackName"] for s in ops(fake).list_stacks("demo-project-")]
    assert names == ["demo-project-a", "demo-project-b", "demo-project-c", "demo-project-d"]
