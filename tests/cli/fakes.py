"""A hand-written CloudFormation stand-in for the CLI's stack flows.

moto's CloudFormation runs operations synchronously, emits two events per operation and never rolls
back, so change-set previews, live events, failures and rollbacks are scripted here instead. The fake
keeps stacks (status, template, parameters, tags, outputs, role, events) and records every call.
Templates given by URL are read from (moto) S3 at that URL.

Parameters are resolved and checked as CloudFormation does (tests/support/parameters.py).

Knobs a test sets:
  outputs            values for template outputs that are not literal strings (Ref/GetAtt)
  fail_resources     logical id -> reason: the next create/update fails there and rolls back
  fail_delete        logical id -> reason: deleting the stack fails there (DELETE_FAILED)
  events_per_tick    None: operations finish at once; n: each `tick()` releases n more events
  page_size          page size of describe_stacks / describe_stack_events / describe_change_set
  s3                 an S3 client (moto): deleting a stack deletes its buckets there, and fails on a
                     non-empty one as CloudFormation does
  dynamodb           a DynamoDB client (moto): deleting a stack deletes its tables there
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from tests.support.parameters import checked

ACCOUNT = "123456789012"
REGION = "us-east-1"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


def client_error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def s3_template_loader(url: str) -> str:
    """Read a template from `https://<bucket>.s3.<region>.<suffix>/<key>` (the CLI's URL form)."""
    parsed = urlparse(url)
    bucket = parsed.netloc.split(".s3.", 1)[0]
    return boto3.client("s3").get_object(Bucket=bucket, Key=parsed.path.lstrip("/"))["Body"].read().decode()


@dataclass
class FakeStack:
    name: str
    id: str
    status: str
    template: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    role_arn: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    status_reason: str | None = None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "StackName": self.name,
            "StackId": self.id,
            "StackStatus": self.status,
            "CreationTime": self.events[0]["Timestamp"] if self.events else datetime.now(UTC),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()],
        }
        if self.role_arn:
            described["RoleARN"] = self.role_arn
        if self.status_reason:
            described["StackStatusReason"] = self.status_reason
        return described


class FakeCloudFormation:
    def __init__(self, template_loader: Callable[[str], str] = s3_template_loader) -> None:
        self.template_loader = template_loader
        self.stacks: dict[str, FakeStack] = {}  # by id, deleted ones included
        self.change_sets: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.outputs: dict[str, str] = {}
        self.fail_resources: dict[str, str] = {}
        self.fail_delete: dict[str, str] = {}
        self.events_per_tick: int | None = None
        self.page_size = 3
        self.s3: Any | None = None
        self.dynamodb: Any | None = None
        self._pending: list[tuple[FakeStack, dict[str, Any] | None, Callable[[], None] | None]] = []
        self._last = datetime.now(UTC)

    # Test helpers

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def add_stack(self, name: str, *, status: str = "CREATE_COMPLETE", template: dict[str, Any] | None = None,
                  parameters: dict[str, str] | None = None, tags: dict[str, str] | None = None,
                  outputs: dict[str, str] | None = None, role_arn: str | None = None) -> FakeStack:
        stack = FakeStack(name, self._stack_id(name), status, template or {"Resources": {}},
                          dict(parameters or {}), dict(tags or {}), dict(outputs or {}), role_arn)
        stack.events.append(self._event(stack, name, "AWS::CloudFormation::Stack", status))
        self.stacks[stack.id] = stack
        return stack

    def stack(self, name: str) -> FakeStack | None:
        live = [s for s in self.stacks.values() if s.name == name and s.status != "DELETE_COMPLETE"]
        return live[0] if live else None

    def tick(self, _seconds: float = 0) -> None:
        """Release the next `events_per_tick` scripted events (pass as StackOps' `sleep`)."""
        for _ in range(self.events_per_tick or len(self._pending)):
            if not self._pending:
                return
            stack, event, apply = self._pending.pop(0)
            if event is not None:
                event["Timestamp"] = self._now()
                stack.events.append(event)
                if event["LogicalResourceId"] == stack.name:
                    stack.status = event["ResourceStatus"]
            if apply:
                apply()

    # CloudFormation API

    def describe_stacks(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DescribeStacks", kw))
        if "StackName" in kw:
            return {"Stacks": [self._find(kw["StackName"], "DescribeStacks").describe()]}
        live = [s for s in self.stacks.values() if s.status != "DELETE_COMPLETE"]
        start = int(kw.get("NextToken", 0))
        page: dict[str, Any] = {"Stacks": [s.describe() for s in live[start:start + self.page_size]]}
        if start + self.page_size < len(live):
            page["NextToken"] = str(start + self.page_size)
        return page

    def describe_stack_events(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DescribeStackEvents", kw))
        events = list(reversed(self._find(kw["StackName"], "DescribeStackEvents").events))
        start = int(kw.get("NextToken", 0))
        page: dict[str, Any] = {"StackEvents": copy.deepcopy(events[start:start + self.page_size])}
        if start + self.page_size < len(events):
            page["NextToken"] = str(start + self.page_size)
        return page

    def create_change_set(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("CreateChangeSet", kw))
        name = kw["StackName"]
        stack = self.stack(name)
        if kw["ChangeSetType"] == "CREATE":
            if stack and stack.status != "REVIEW_IN_PROGRESS":
                raise client_error("CreateChangeSet", "AlreadyExistsException",
                                   f"Stack [{name}] already exists")
            if stack is None:
                stack = self.add_stack(name, status="REVIEW_IN_PROGRESS")
        elif stack is None or stack.status == "REVIEW_IN_PROGRESS":
            raise client_error("CreateChangeSet", "ValidationError", f"Stack [{name}] does not exist")
        template = self._template(kw)
        parameters = checked(template, stack.parameters, kw.get("Parameters", []), "CreateChangeSet")
        tags = {t["Key"]: t["Value"] for t in kw.get("Tags", [])} or stack.tags
        changes = self._changes(stack, template, parameters)
        arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{kw['ChangeSetName']}/{uuid.uuid4()}"
        unchanged = not changes and tags == stack.tags
        self.change_sets[arn] = {
            "stack": stack, "template": template, "parameters": parameters, "tags": tags,
            "changes": changes, "type": kw["ChangeSetType"], "role": kw.get("RoleARN"),
            "Status": "FAILED" if unchanged else "CREATE_COMPLETE",
            "StatusReason": NO_CHANGES if unchanged else "",
        }
        return {"Id": arn, "StackId": stack.id}

    def describe_change_set(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DescribeChangeSet", kw))
        cs = self._change_set(kw["ChangeSetName"], "DescribeChangeSet")
        start = int(kw.get("NextToken", 0))
        page = {"ChangeSetId": kw["ChangeSetName"], "Status": cs["Status"],
                "StatusReason": cs["StatusReason"],
                "ExecutionStatus": "UNAVAILABLE" if cs["Status"] == "FAILED" else "AVAILABLE",
                "Changes": cs["changes"][start:start + self.page_size]}
        if start + self.page_size < len(cs["changes"]):
            page["NextToken"] = str(start + self.page_size)
        return page

    def delete_change_set(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DeleteChangeSet", kw))
        self._change_set(kw["ChangeSetName"], "DeleteChangeSet")
        del self.change_sets[kw["ChangeSetName"]]
        return {}

    def execute_change_set(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("ExecuteChangeSet", kw))
        cs = self.change_sets.pop(kw["ChangeSetName"])
        self._apply(cs["stack"], "CREATE" if cs["type"] == "CREATE" else "UPDATE", cs["template"],
                    cs["parameters"], cs["tags"], cs["changes"], cs["role"])
        return {}

    def update_stack(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("UpdateStack", kw))
        stack = self._find(kw["StackName"], "UpdateStack")
        template = self._template(kw)
        parameters = checked(template, stack.parameters, kw.get("Parameters", []), "UpdateStack")
        tags = {t["Key"]: t["Value"] for t in kw.get("Tags", [])} or stack.tags
        changes = self._changes(stack, template, parameters)
        if not changes and tags == stack.tags:
            raise client_error("UpdateStack", "ValidationError", "No updates are to be performed.")
        self._apply(stack, "UPDATE", template, parameters, tags, changes, kw.get("RoleARN") or stack.role_arn)
        return {"StackId": stack.id}

    def delete_stack(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DeleteStack", kw))
        stack = self.stack(kw["StackName"])
        if stack is None:
            return {}  # like AWS: deleting a missing stack succeeds
        retain = set(kw.get("RetainResources", []))
        script: list[tuple[str, str, str, str | None]] = [
            (stack.name, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated")]
        failed = False
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if logical_id in retain or resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
                script.append((logical_id, resource["Type"], "DELETE_SKIPPED", None))
                continue
            script.append((logical_id, resource["Type"], "DELETE_IN_PROGRESS", None))
            reason = self.fail_delete.get(logical_id) or self._delete_physical(stack, logical_id, resource)
            status = "DELETE_FAILED" if reason else "DELETE_COMPLETE"
            script.append((logical_id, resource["Type"], status, reason))
            failed = failed or bool(reason)
        final = "DELETE_FAILED" if failed else "DELETE_COMPLETE"
        script.append((stack.name, "AWS::CloudFormation::Stack", final, None))
        self._run(stack, script, None)
        return {}

    def list_stack_resources(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("ListStackResources", kw))
        stack = self._find(kw["StackName"], "ListStackResources")
        latest = {e["LogicalResourceId"]: e for e in stack.events}  # each resource's status is its last event
        summaries = []
        for k, r in stack.template.get("Resources", {}).items():
            event = latest.get(k, {})
            summary = {"LogicalResourceId": k, "ResourceType": r["Type"],
                       "PhysicalResourceId": self._physical_id(stack, k, r),
                       "ResourceStatus": event.get("ResourceStatus", "CREATE_COMPLETE")}
            if event.get("ResourceStatusReason"):
                summary["ResourceStatusReason"] = event["ResourceStatusReason"]
            summaries.append(summary)
        return {"StackResourceSummaries": summaries}

    def get_template(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("GetTemplate", kw))
        return {"TemplateBody": copy.deepcopy(self._find(kw["StackName"], "GetTemplate").template)}

    # Internals

    @staticmethod
    def _physical_id(stack: FakeStack, logical_id: str, resource: dict[str, Any]) -> str:
        return str(resource.get("PhysicalResourceId", f"{stack.name}-{logical_id.lower()}"))

    def _delete_physical(self, stack: FakeStack, logical_id: str, resource: dict[str, Any]) -> str | None:
        """Delete a bucket (if `s3` is set) or table (if `dynamodb` is set) of the stack in moto;
        return CloudFormation's failure reason."""
        physical_id = self._physical_id(stack, logical_id, resource)
        try:
            if self.s3 is not None and resource["Type"] == "AWS::S3::Bucket":
                self.s3.delete_bucket(Bucket=physical_id)
            if self.dynamodb is not None and resource["Type"] == "AWS::DynamoDB::Table":
                self.dynamodb.delete_table(TableName=physical_id)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            if code == "BucketNotEmpty":
                return "The bucket you tried to delete is not empty (Service: S3, Status Code: 409)"
            if code not in ("NoSuchBucket", "ResourceNotFoundException"):
                raise
        return None

    def _now(self) -> datetime:
        # Strictly increasing and never behind the real clock, so `since` filters work as on AWS.
        self._last = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        return self._last

    def _stack_id(self, name: str) -> str:
        return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"

    def _event(self, stack: FakeStack, logical_id: str, kind: str, status: str,
               reason: str | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "StackId": stack.id, "StackName": stack.name, "EventId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status,
            "Timestamp": self._now(),
        }
        if reason:
            event["ResourceStatusReason"] = reason
        resource = stack.template.get("Resources", {}).get(logical_id)
        event["PhysicalResourceId"] = self._physical_id(stack, logical_id, resource) if resource else stack.id
        return event

    def _find(self, name_or_id: str, operation: str) -> FakeStack:
        stack = self.stacks.get(name_or_id) or self.stack(name_or_id)
        if stack is None:
            raise client_error(operation, "ValidationError", f"Stack with id {name_or_id} does not exist")
        return stack

    def _change_set(self, arn: str, operation: str) -> dict[str, Any]:
        if arn not in self.change_sets:
            raise client_error(operation, "ChangeSetNotFound", f"ChangeSet [{arn}] does not exist")
        return self.change_sets[arn]

    def _template(self, kw: dict[str, Any]) -> dict[str, Any]:
        body = kw.get("TemplateBody") or self.template_loader(kw["TemplateURL"])
        template: dict[str, Any] = json.loads(body)
        return template

    def _changes(self, stack: FakeStack, template: dict[str, Any],
                 parameters: dict[str, str]) -> list[dict[str, Any]]:
        old = stack.template.get("Resources", {}) if stack.status != "REVIEW_IN_PROGRESS" else {}
        new = template.get("Resources", {})
        changed_params = {k for k in parameters.keys() | stack.parameters.keys()
                          if parameters.get(k) != stack.parameters.get(k)}

        def row(action: str, logical_id: str, kind: str, replacement: str | None = None) -> dict[str, Any]:
            change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind}
            if replacement is not None:
                change["Replacement"] = replacement
            return {"Type": "Resource", "ResourceChange": change}

        rows = [row("Add", k, r["Type"]) for k, r in new.items() if k not in old]
        for k, r in new.items():
            refs_changed = any(f'{{"Ref": "{p}"}}' in json.dumps(r) for p in changed_params)
            if k in old and (old[k] != r or refs_changed):
                rows.append(row("Modify", k, r["Type"], "False"))
        rows += [row("Remove", k, r["Type"]) for k, r in old.items() if k not in new]
        return rows

    def _apply(self, stack: FakeStack, verb: str, template: dict[str, Any], parameters: dict[str, str],
               tags: dict[str, str], changes: list[dict[str, Any]], role: str | None) -> None:
        kind = "AWS::CloudFormation::Stack"
        script: list[tuple[str, str, str, str | None]] = [
            (stack.name, kind, f"{verb}_IN_PROGRESS", "User Initiated")]
        failed: list[str] = []
        for change in changes:
            rc = change["ResourceChange"]
            logical_id, rtype = rc["LogicalResourceId"], rc["ResourceType"]
            if rc["Action"] == "Remove":
                continue
            step = "CREATE" if rc["Action"] == "Add" else "UPDATE"
            if failed:
                script.append((logical_id, rtype, f"{step}_FAILED", "Resource creation cancelled"))
                continue
            script.append((logical_id, rtype, f"{step}_IN_PROGRESS", None))
            reason = self.fail_resources.get(logical_id)
            if reason:
                failed.append(logical_id)
                script.append((logical_id, rtype, f"{step}_FAILED", reason))
            else:
                script.append((logical_id, rtype, f"{step}_COMPLETE", None))
        apply: Callable[[], None] | None = None
        if failed:
            self.fail_resources = {}
            why = f"The following resource(s) failed to {verb.lower()}: [{', '.join(failed)}]. "
            if verb == "CREATE":
                script += [(stack.name, kind, "ROLLBACK_IN_PROGRESS", why + "Rollback requested by user."),
                           (stack.name, kind, "ROLLBACK_COMPLETE", None)]
            else:
                script += [(stack.name, kind, "UPDATE_ROLLBACK_IN_PROGRESS", why),
                           (stack.name, kind, "UPDATE_ROLLBACK_COMPLETE", None)]
        else:
            script.append((stack.name, kind, f"{verb}_COMPLETE", None))
            declared = template.get("Outputs", {})
            literal = {k: o["Value"] for k, o in declared.items() if isinstance(o["Value"], str)}
            outputs = {k: self.outputs.get(k, v) for k, v in literal.items()}
            outputs |= {k: v for k, v in self.outputs.items() if k in declared}

            def apply() -> None:
                stack.template, stack.parameters, stack.tags = template, parameters, tags
                stack.outputs, stack.role_arn = outputs, role or stack.role_arn
        self._run(stack, script, apply)

    def _run(self, stack: FakeStack, script: list[tuple[str, str, str, str | None]],
             apply: Callable[[], None] | None) -> None:
        for i, (logical_id, kind, status, reason) in enumerate(script):
            last = i == len(script) - 1
            event = self._event(stack, logical_id, kind, status, reason)
            self._pending.append((stack, event, apply if last else None))
        stack.status = script[0][2]  # AWS switches the status when the call returns, events follow
        if self.events_per_tick is None:
            self.tick()


# --- an AWS account ready for setup (moto) and packaged artifacts (small files) ------------------

DOMAIN = "ship.example.com"


@functools.cache
def _rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)  # slow: make one per run


def _key_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    key = _rsa_key()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def issued_certificate(host: str) -> str:
    """An ISSUED certificate for `host` in us-east-1 (imported: moto keeps requested ones pending)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    acm = boto3.client("acm", region_name="us-east-1")
    arn: str = acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
    )["CertificateArn"]
    return arn


def github_secret(region: str, **overrides: str) -> str:
    value = {"client_id": "Iv1.abc", "client_secret": "s3cret", "app_id": "12345", "app_secret": _key_pem(),
             "webhook_secret": "hook"} | overrides
    sm = boto3.client("secretsmanager", region_name=region)
    arn: str = sm.create_secret(Name="battleshiper-github", SecretString=json.dumps(value))["ARN"]
    return arn


def setup_args(*, region: str = "eu-west-1", yes: bool = True, **params: str) -> list[str]:
    """CLI arguments of `setup` with valid parameters (moto must be active)."""
    values = {
        "domain": DOMAIN,
        "certificate-arn": params.pop("certificate_arn", None) or issued_certificate(DOMAIN),
        "wildcard-certificate-arn": params.pop("wildcard_certificate_arn", None)
        or issued_certificate(f"*.{DOMAIN}"),
        "github-secret-arn": params.pop("github_secret_arn", None) or github_secret(region),
        "admin": "octocat",
    } | {k.replace("_", "-"): v for k, v in params.items()}
    args = ["--region", region, *(["--yes"] if yes else []), "setup"]
    for key, value in values.items():
        args += [f"--{key}", value]
    return args


PROJECT_TEMPLATE: dict[str, Any] = {"Resources": {"ServerFunction": {"Type": "AWS::Lambda::Function"},
                                  "ServerRole": {"Type": "AWS::IAM::Role"}},
                    "Parameters": {"ProjectName": {"Type": "String"}}}


def fake_artifacts(directory: Any, *, version: str = "1", project_version: str = "1") -> dict[str, Any]:
    """Small artifact files named by content hash, shaped like packaging's output. `version`
    changes every code artifact, `project_version` the project template."""
    import hashlib
    import io
    import zipfile
    from pathlib import Path

    from battleshiper_cli.packaging import PackagedArtifact
    from templates.config import ARTIFACT_NAMES

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name in ARTIFACT_NAMES:
        if name == "dashboard-assets":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("index.html", f"<h1>dashboard {version}</h1>")
                archive.writestr("_app/immutable/start.js", f"console.log({version})")
            data, suffix = buffer.getvalue(), ".zip"
        elif name == "project-template":
            template = copy.deepcopy(PROJECT_TEMPLATE)
            template["Resources"]["ServerFunction"]["Properties"] = {"Description": f"v{project_version}"}
            data, suffix = json.dumps(template).encode(), ".json"
        else:
            data, suffix = f"{name} v{version}".encode(), ".zip"
        sha = hashlib.sha256(data).hexdigest()
        path = root / f"{name}{suffix}"
        path.write_bytes(data)
        artifacts[name] = PackagedArtifact(name, path, sha, f"{name}/{sha}{suffix}")
    return artifacts


DASHBOARD_BUCKET = "battleshiper-dashboard-bucket"
CDN_OUTPUTS = {
    "DashboardCdnHost": "d111111abcdef8.cloudfront.net",
    "ProjectCdnHost": "d222222abcdef8.cloudfront.net",
    "DashboardBucketName": DASHBOARD_BUCKET,
}


@dataclass
class World:
    """moto for STS/ACM/Secrets Manager/S3, the fake for CloudFormation, small artifacts."""

    cfn: FakeCloudFormation
    directory: Any
    artifacts: dict[str, Any] = field(default_factory=dict)

    def package(self, version: str = "1", project_version: str = "1") -> dict[str, Any]:
        directory = self.directory / f"build-{version}-{project_version}"
        self.artifacts = fake_artifacts(directory, version=version, project_version=project_version)
        return self.artifacts

    @property
    def s3(self) -> Any:
        return boto3.client("s3", region_name="eu-west-1")

    def objects(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def buckets(self) -> list[str]:
        return [b["Name"] for b in self.s3.list_buckets()["Buckets"]]


def _permission_over_tls(bucket: Any, action: str, resource: str) -> Any:
    """moto ignores policy Conditions, so a "deny unless aws:SecureTransport" statement would deny
    every request; test requests are HTTPS, so such statements are left out of the evaluation."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(bucket.policy)
    policy["Statement"] = [s for s in policy["Statement"]
                           if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))]
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


@contextmanager
def aws_world(monkeypatch: Any, tmp_path: Any) -> Iterator[World]:
    """Patch the CLI's seams: the CloudFormation client (`tests.cli.runner.FAKES`), the poll interval and the
    packaging step (small artifact files instead of the real build)."""
    from moto import mock_aws
    from moto.s3.models import FakeBucket

    from battleshiper_cli import install
    from tests.cli.fake_lambda import FakeLambda
    from tests.cli.runner import FAKES

    for name in ("AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(FakeBucket, "get_permission", _permission_over_tls)
    with mock_aws():
        world = World(FakeCloudFormation(), tmp_path)
        world.package()
        world.cfn.outputs = dict(CDN_OUTPUTS)
        world.s3.create_bucket(Bucket=DASHBOARD_BUCKET,
                               CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        monkeypatch.setitem(FAKES, "cloudformation", world.cfn)
        monkeypatch.setitem(FAKES, "lambda", FakeLambda(world.cfn))
        monkeypatch.setattr(install, "POLL_SECONDS", 0)
        monkeypatch.setattr(install, "package_all", lambda stack_name, build_dir, log=None: world.artifacts)
        yield world
