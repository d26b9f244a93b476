"""`battleshiper delete` as stages: find what exists, confirm, delete it in an order that works.

Order matters (reference: delete order; defect 72): project stacks go first because CloudFormation
deletes them with the service role the platform stack holds; every bucket is emptied (all versions
and delete markers) right before its stack is deleted, since CloudFormation cannot delete a bucket
that holds objects; the artifacts bucket goes last because stacks may need it until they are gone.
Nothing is remembered between runs: each one finds what exists, so running `delete` again after a
partial failure picks up where the last run stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import botocore.exceptions

from battleshiper_cli.errors import BattleshiperError, Declined, OperationFailed, UsageError
from battleshiper_cli.prompt import Prompter
from battleshiper_cli.stacks import StackOps
from lambdas.shared.names import TABLES, Names

# CloudFormation cannot delete a build subnet or security group while a Batch (Fargate) or Lambda
# network interface still uses it, nor detach the internet gateway while such an interface holds a
# public address; AWS releases them within minutes, so these failures are worth retrying.
TRANSIENT_FAILURE = re.compile(r"dependen|network interface|mapped public address", re.IGNORECASE)
DELETE_ATTEMPTS = 6
BACKOFF_SECONDS = (60.0, 120.0, 240.0, 300.0, 300.0)
DELETE_BATCH = 1000  # the DeleteObjects maximum
# In-progress states a delete may start from: one already being deleted, one never created (change set).
DELETABLE_IN_PROGRESS = {"DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS"}

# Deleted together with the function they belong to, though CloudFormation reports them retained.
DELETED_WITH_PARENT = {"AWS::Lambda::Version"}


@dataclass
class StackState:
    name: str
    status: str


@dataclass
class BucketState:
    name: str
    objects: int  # object versions plus delete markers
    stack: str | None = None  # None: the artifacts bucket, which setup creates outside any stack


@dataclass
class TableState:
    name: str
    items: int  # DynamoDB's estimate, refreshed about every six hours
    retained: bool = True  # outlives its stack (DeletionPolicy Retain): kept with --keep-data


@dataclass
class Inventory:
    stack_name: str
    region: str
    platform: StackState | None = None
    projects: list[StackState] = field(default_factory=list)
    buckets: list[BucketState] = field(default_factory=list)
    artifacts: BucketState | None = None
    tables: list[TableState] = field(default_factory=list)
    log_groups: list[str] = field(default_factory=list)

    @property
    def stacks(self) -> list[StackState]:
        """In deletion order: projects first, the platform last."""
        return self.projects + ([self.platform] if self.platform else [])

    def is_empty(self, *, keep_data: bool = False) -> bool:
        return not (self.stacks or self.buckets or self.artifacts or self.log_groups
                    or (self.tables and not keep_data))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Retained:
    """A resource CloudFormation left in place because of its DeletionPolicy."""

    type: str
    logical_id: str
    physical_id: str


@dataclass
class Outcome:
    before: Inventory
    after: Inventory
    keep_data: bool
    retained: list[Retained] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.after.is_empty(keep_data=self.keep_data)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "found": self.before.as_json(),
            "left": self.after.as_json(),
            "retained": [asdict(r) for r in self.retained],
        }


@dataclass
class Aws:
    """The clients teardown needs; the command builds them from the global options."""

    stacks: StackOps
    s3: Any
    dynamodb: Any
    logs: Any
    account: str
    region: str

    @property
    def cfn(self) -> Any:
        return self.stacks.cfn


# Stage 1: what exists


def find(aws: Aws, names: Names) -> Inventory:
    inventory = Inventory(stack_name=names.stack, region=aws.region)
    platform = aws.stacks.describe(names.stack)
    if platform is not None:
        inventory.platform = StackState(names.stack, platform["StackStatus"])
    inventory.projects = [
        StackState(s["StackName"], s["StackStatus"])
        for s in aws.stacks.list_stacks(names.project_stack_prefix)
        if _same_installation(s, names)
    ]
    stack_tables: set[str] = set()
    retained_tables: set[str] = set()
    for stack in inventory.stacks:
        resources = _live_resources(aws.cfn, stack.name)
        for bucket in resources.get("AWS::S3::Bucket", {}).values():
            objects = count_objects(aws.s3, bucket)
            if objects is not None:
                inventory.buckets.append(BucketState(bucket, objects, stack.name))
        tables = resources.get("AWS::DynamoDB::Table", {})
        stack_tables.update(tables.values())
        if tables:
            retained = _retained_logical_ids(aws.cfn, stack.name)
            retained_tables.update(physical for logical, physical in tables.items() if logical in retained)
    artifacts = names.artifacts_bucket(aws.account, aws.region)
    objects = count_objects(aws.s3, artifacts)
    if objects is not None:
        inventory.artifacts = BucketState(artifacts, objects)
    for kind in TABLES:
        table = _table(aws.dynamodb, names.table(kind))
        if table:
            # A table no stack holds any more was retained by an earlier delete.
            table.retained = table.name in retained_tables or table.name not in stack_tables
            inventory.tables.append(table)
    inventory.log_groups = _log_groups(aws.logs, names.project_log_group_prefix)
    return inventory


def _same_installation(stack: dict[str, Any], names: Names) -> bool:
    """Another installation's stack name can start with our project prefix; its tag tells them apart."""
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    return tags.get(names.stack_tag, names.stack) == names.stack


def _live_resources(cfn: Any, stack_name: str) -> dict[str, dict[str, str]]:
    """The stack's resources that still exist: type -> logical id -> physical id."""
    found: dict[str, dict[str, str]] = {}
    for r in _resources(cfn, stack_name):
        if r.get("PhysicalResourceId") and r.get("ResourceStatus") != "DELETE_COMPLETE":
            found.setdefault(r["ResourceType"], {})[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    return found


def _retained_logical_ids(cfn: Any, stack_name: str) -> set[str]:
    """Resources the stack's template keeps when the stack is deleted (DeletionPolicy Retain).
    RetainResources cannot stand in: CloudFormation takes it only from a stack in DELETE_FAILED."""
    template = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    body = json.loads(template) if isinstance(template, str) else template
    return {
        logical_id for logical_id, resource in body.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
    }


def _resources(cfn: Any, stack_name: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"StackName": stack_name}
    while True:
        page = cfn.list_stack_resources(**kwargs)
        yield from page.get("StackResourceSummaries", [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _versions(s3: Any, bucket: str) -> Iterator[list[dict[str, str]]]:
    """Pages (at most 1000 entries) of every object version and delete marker, as DeleteObjects keys."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        yield [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]


def count_objects(s3: Any, bucket: str) -> int | None:
    """Object versions plus delete markers in the bucket; None if there is no such bucket."""
    try:
        return sum(len(page) for page in _versions(s3, bucket))
    except botocore.exceptions.ClientError as err:
        if _code(err) == "NoSuchBucket":
            return None
        raise


def empty_bucket(s3: Any, bucket: str) -> None:
    """Delete every version and delete marker; a key S3 refuses to delete stops the run (defect 40)."""
    try:
        for page in _versions(s3, bucket):
            for start in range(0, len(page), DELETE_BATCH):
                batch = page[start : start + DELETE_BATCH]
                response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                errors = response.get("Errors")
                if errors:
                    first = errors[0]
                    raise OperationFailed(
                        f"could not empty bucket {bucket}: {len(errors)} objects refused, e.g. "
                        f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                    )
    except botocore.exceptions.ClientError as err:
        if _code(err) != "NoSuchBucket":
            raise


def delete_bucket(s3: Any, bucket: str) -> None:
    empty_bucket(s3, bucket)
    try:
        s3.delete_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as err:
        if _code(err) != "NoSuchBucket":
            raise


def _table(dynamodb: Any, name: str) -> TableState | None:
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except botocore.exceptions.ClientError as err:
        if _code(err) == "ResourceNotFoundException":
            return None
        raise
    return TableState(name, int(table.get("ItemCount", 0)))


def _log_groups(logs: Any, prefix: str) -> list[str]:
    """Project log groups: the pipeline creates some at run time, outside any stack."""
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
    return [g["logGroupName"] for page in pages for g in page.get("logGroups", [])]


def _code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


# Stage 2: confirm


def confirm(stack_name: str, prompter: Prompter) -> None:
    """The operator types the stack name, unless `--yes`; off a terminal only `--yes` will do."""
    if prompter.yes:
        return
    prompter.require("refusing to delete without confirmation: no terminal to ask on",
                     hint="pass --yes to delete without being asked")
    typed = prompter.typed(f"Type the stack name ({stack_name}) to delete everything listed above")
    if typed != stack_name:
        raise Declined(f"you typed {typed!r}, not {stack_name!r}: nothing was deleted")


def check_settled(inventory: Inventory) -> None:
    """A stack in the middle of a create or update cannot be deleted cleanly; one being deleted can be
    waited for."""
    busy = [s for s in inventory.stacks
            if s.status.endswith("_IN_PROGRESS") and s.status not in DELETABLE_IN_PROGRESS]
    if busy:
        raise UsageError(
            f"{', '.join(f'{s.name} is {s.status}' for s in busy)}: nothing was deleted",
            hint="wait until the operation finishes (or cancel the update), then run the command again",
        )


# Stage 3: delete


class Teardown:
    def __init__(self, aws: Aws, names: Names, *, keep_data: bool, sleep: Callable[[float], None],
                 say: Callable[[str], None] = lambda _: None) -> None:
        self.aws = aws
        self.names = names
        self.keep_data = keep_data
        self.sleep = sleep
        self.say = say
        self.retained: list[Retained] = []

    def on_event(self, event: dict[str, Any]) -> None:
        """Pass to StackOps as `on_event` (after printing) to learn what the stacks retained."""
        kind = event.get("ResourceType", "")
        if event.get("ResourceStatus") == "DELETE_SKIPPED" and kind not in DELETED_WITH_PARENT:
            self.retained.append(
                Retained(kind, event.get("LogicalResourceId", ""), event.get("PhysicalResourceId", "")))

    def run(self, inventory: Inventory) -> Outcome:
        error = None
        try:
            self._delete(inventory)
        except BattleshiperError as err:
            error = err.message
        except botocore.exceptions.ClientError as err:
            message = err.response.get("Error", {}).get("Message", "")
            error = f"{err.operation_name} failed: {_code(err)}: {message}"
        try:
            after = find(self.aws, self.names)
        except botocore.exceptions.ClientError as err:  # things have changed: not a "nothing changed" error
            raise OperationFailed(f"delete stopped ({error or 'finished'}) and the account could not be "
                                  f"read again: {_code(err)}") from err
        handled = {b.name for b in inventory.buckets} | {t.name for t in inventory.tables}
        retained = [r for r in self.retained if r.physical_id not in handled]
        return Outcome(inventory, after, self.keep_data, retained, error)

    def _delete(self, inventory: Inventory) -> None:
        for stack in inventory.stacks:
            buckets = [b.name for b in inventory.buckets if b.stack == stack.name]
            self.delete_stack(stack.name, buckets)
        # Buckets a stack retained (DeletionPolicy Retain) are still there, already emptied.
        for bucket in inventory.buckets:
            delete_bucket(self.aws.s3, bucket.name)
        if inventory.artifacts:
            self.say(f"emptying and deleting {inventory.artifacts.name}")
            delete_bucket(self.aws.s3, inventory.artifacts.name)
        for group in inventory.log_groups:
            self._delete_log_group(group)
        if not self.keep_data:
            for table in inventory.tables:
                self._delete_table(table.name)

    def delete_stack(self, stack_name: str, buckets: list[str]) -> None:
        """Empty the stack's buckets, delete it and wait; retry while network interfaces hold the VPC."""
        for attempt in range(DELETE_ATTEMPTS):
            for bucket in buckets:
                self.say(f"emptying {bucket}")
                empty_bucket(self.aws.s3, bucket)
            self.say(f"deleting stack {stack_name}")
            since = self.aws.stacks.latest_event_time(stack_name) or self.aws.stacks.clock()
            # No RoleARN: CloudFormation reuses the role the stack was created with (for project stacks,
            # the platform stack's service role, which is why the platform stack goes last).
            self.aws.stacks.delete_stack(stack_name)
            try:
                self.aws.stacks.wait(stack_name, since, target="delete")
                return
            except OperationFailed:
                reasons = self.failure_reasons(stack_name)
                if attempt + 1 == DELETE_ATTEMPTS or not any(TRANSIENT_FAILURE.search(r) for r in reasons):
                    raise
            delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
            self.say(f"{stack_name}: network interfaces still hold the build VPC; retrying in {delay:.0f} s "
                     f"(attempt {attempt + 2} of {DELETE_ATTEMPTS})")
            self.sleep(delay)

    def failure_reasons(self, stack_name: str) -> list[str]:
        return [
            r.get("ResourceStatusReason", "")
            for r in _resources(self.aws.cfn, stack_name)
            if r.get("ResourceStatus") == "DELETE_FAILED"
        ]

    def _delete_log_group(self, group: str) -> None:
        try:
            self.aws.logs.delete_log_group(logGroupName=group)
        except botocore.exceptions.ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise

    def _delete_table(self, name: str) -> None:
        """Tables carry DeletionPolicy Retain (and may carry deletion protection): the operator has
        confirmed a full teardown, so both are lifted here."""
        try:
            table = self.aws.dynamodb.describe_table(TableName=name)["Table"]
            if table.get("DeletionProtectionEnabled"):
                self.aws.dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
            self.say(f"deleting table {name}")
            self.aws.dynamodb.delete_table(TableName=name)
        except botocore.exceptions.ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
