"""CloudFormation stack operations: change sets, waiting with a live event stream, deletion.

A thin typed wrapper over the botocore client. Time is injected (`sleep`, `clock`) so tests drive
the polling loops without waiting, with a fake client that scripts what CloudFormation would do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import botocore.exceptions

from battleshiper_cli.errors import AwsError, OperationFailed

Target = Literal["create", "update", "delete"]

SUCCESS = {"create": "CREATE_COMPLETE", "update": "UPDATE_COMPLETE", "delete": "DELETE_COMPLETE"}
# What CloudFormation says when a change set would change nothing (two wordings are in use).
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")
CANCELLED_REASON = "Resource creation cancelled"  # follows from another resource's failure


@dataclass(frozen=True)
class ChangeSet:
    name: str
    arn: str
    changes: list[dict[str, Any]]
    empty: bool


def is_terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def _not_found(err: botocore.exceptions.ClientError) -> bool:
    error = err.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", "")


@dataclass(eq=False)  # one per client: compared by identity, as before
class StackOps:
    cfn: Any
    _: KW_ONLY
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    poll_seconds: float = 5.0
    on_event: Callable[[dict[str, Any]], None] | None = None

    # What exists

    def describe(self, stack_name: str) -> dict[str, Any] | None:
        try:
            stacks = self.cfn.describe_stacks(StackName=stack_name)["Stacks"]
        except botocore.exceptions.ClientError as err:
            if _not_found(err):
                return None
            raise
        return dict(stacks[0]) if stacks else None

    def outputs(self, stack_name: str) -> dict[str, str]:
        stack = self.describe(stack_name) or {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def list_stacks(self, prefix: str) -> list[dict[str, Any]]:
        """Live stacks whose name starts with `prefix`, with their tags, parameters and role
        (DescribeStacks without a name lists every live stack, unlike ListStacks which lacks tags)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self.cfn.describe_stacks(**kwargs)
            found.extend(
                s for s in page.get("Stacks", [])
                if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"
            )
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def latest_event_time(self, stack_name: str) -> datetime | None:
        """Timestamp of the stack's newest event: a `since` for `wait` that no clock skew can break."""
        try:
            events = self.cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])
        except botocore.exceptions.ClientError as err:
            if _not_found(err):
                return None
            raise
        return max((e["Timestamp"] for e in events), default=None)

    # What to change

    def create_change_set(
        self,
        stack_name: str,
        *,
        template_url: str | None = None,
        template_body: str | None = None,
        parameters: list[dict[str, Any]],
        change_set_type: Literal["CREATE", "UPDATE"],
        capabilities: list[str],
        tags: dict[str, str] | None = None,
        role_arn: str | None = None,
    ) -> ChangeSet:
        """Create a change set and wait until CloudFormation has computed it."""
        if (template_url is None) == (template_body is None):
            raise ValueError("give exactly one of template_url and template_body")
        name = f"{stack_name}-{self.clock().strftime('%Y%m%d%H%M%S')}"
        kwargs: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": name,
            "ChangeSetType": change_set_type,
            "Parameters": parameters,
            "Capabilities": capabilities,
            "Description": f"battleshiper {change_set_type.lower()}",
        }
        if template_url is not None:
            kwargs["TemplateURL"] = template_url
        else:
            kwargs["TemplateBody"] = template_body
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        if role_arn:
            kwargs["RoleARN"] = role_arn
        arn = self.cfn.create_change_set(**kwargs)["Id"]

        while True:
            described = self.cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                return ChangeSet(name, arn, self._all_changes(arn, stack_name, described), empty=False)
            if status == "FAILED":
                reason = described.get("StatusReason", "")
                if any(r in reason for r in NO_CHANGES_REASONS):
                    return ChangeSet(name, arn, [], empty=True)
                raise AwsError(
                    f"CloudFormation could not compute the change set for {stack_name}: {reason}",
                    hint="nothing was changed; fix the cause and run the command again",
                )
            self.sleep(self.poll_seconds)

    def _all_changes(self, arn: str, stack_name: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        changes = list(first.get("Changes", []))
        token = first.get("NextToken")
        while token:
            page = self.cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name, NextToken=token)
            changes.extend(page.get("Changes", []))
            token = page.get("NextToken")
        return changes

    # Do it

    def delete_change_set(self, change_set: ChangeSet) -> None:
        self.cfn.delete_change_set(ChangeSetName=change_set.arn)

    def execute_change_set(self, change_set: ChangeSet) -> None:
        self.cfn.execute_change_set(ChangeSetName=change_set.arn)

    def update_stack(
        self,
        stack_name: str,
        *,
        template_url: str,
        parameters: list[dict[str, Any]],
        capabilities: list[str],
        tags: dict[str, str] | None = None,
        role_arn: str | None = None,
    ) -> bool:
        """Start a direct update; False when CloudFormation says there is nothing to update."""
        kwargs: dict[str, Any] = {
            "StackName": stack_name,
            "TemplateURL": template_url,
            "Parameters": parameters,
            "Capabilities": capabilities,
        }
        if tags is not None:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        if role_arn:
            kwargs["RoleARN"] = role_arn
        try:
            self.cfn.update_stack(**kwargs)
        except botocore.exceptions.ClientError as err:
            if any(r in err.response.get("Error", {}).get("Message", "") for r in NO_CHANGES_REASONS):
                return False
            raise
        return True

    def delete_stack(
        self, stack_name: str, *, role_arn: str | None = None, retain: list[str] | None = None
    ) -> None:
        kwargs: dict[str, Any] = {"StackName": stack_name}
        if role_arn:
            kwargs["RoleARN"] = role_arn
        if retain:
            kwargs["RetainResources"] = retain
        self.cfn.delete_stack(**kwargs)

    def wait(self, stack_name: str, since: datetime, *, target: Target) -> str:
        """Stream the stack's new events until it reaches a terminal status; return that status or
        raise OperationFailed naming the resources that failed and why."""
        seen: set[str] = set()
        failures: list[dict[str, Any]] = []
        stack_id = stack_name
        while True:
            stack = self.describe(stack_id)
            if stack is None:  # gone: only a delete (or a rolled-back create being removed) ends here
                status = "DELETE_COMPLETE"
            else:
                stack_id = stack.get("StackId", stack_name)  # a deleted stack is found by id only
                status = stack["StackStatus"]
            for event in self._new_events(stack_id, since, seen):
                if event.get("ResourceStatus", "").endswith("_FAILED"):
                    failures.append(event)
                if self.on_event:
                    self.on_event(event)
            if is_terminal(status):
                break
            self.sleep(self.poll_seconds)
        if status == SUCCESS[target]:
            return status
        raise OperationFailed(
            f"{stack_name} ended in {status}: {_failure_summary(stack_name, failures, stack)}",
            hint="the events above show what CloudFormation did",
        )

    def _new_events(self, stack_id: str, since: datetime, seen: set[str]) -> list[dict[str, Any]]:
        """Events after `since` not yet seen, oldest first (the API pages newest first)."""
        fresh: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StackName": stack_id}
        while True:
            try:
                page = self.cfn.describe_stack_events(**kwargs)
            except botocore.exceptions.ClientError as err:
                if _not_found(err):
                    break
                raise
            reached_known = False
            for event in page.get("StackEvents", []):
                if event["Timestamp"] <= since or event["EventId"] in seen:
                    reached_known = True
                    break
                fresh.append(event)
            if reached_known or not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        seen.update(e["EventId"] for e in fresh)
        return list(reversed(fresh))


def _failure_summary(stack_name: str, failures: list[dict[str, Any]], stack: dict[str, Any] | None) -> str:
    """The resources that failed first, with their reasons; cancellations only when nothing else."""
    resources = [e for e in failures if e.get("LogicalResourceId") != stack_name]
    causes = [e for e in resources if CANCELLED_REASON not in e.get("ResourceStatusReason", "")] or resources
    if causes:
        return "; ".join(
            f"{e['LogicalResourceId']} ({e.get('ResourceType', '')}): "
            f"{e.get('ResourceStatusReason', 'no reason given')}"
            for e in causes
        )
    reason = (stack or {}).get("StackStatusReason")
    return reason or "no failed resource was reported"
