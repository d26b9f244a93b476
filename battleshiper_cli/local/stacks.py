"""Project stacks, locally. The init function creates a project's stack from the shipped project template
with CloudFormation; moto's CloudFormation crashes on our build rule (see docs/LOCAL.md). This stands in
for the `cloudformation` client the pipeline functions get: it reads the same template from the artifacts
bucket and creates its resources through the APIs (log groups, the server function in moto's Lambda; its
versions and `live` alias are the pipeline's), the job definition in the local build runner and the build
rule, with the template's own pattern and input transformer, on the local bus. Only the calls the pipeline
makes are here."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from battleshiper_cli.local.aws import ACCOUNT, REGION, Resolver
from battleshiper_cli.local.batch import JobDefinition, LocalBatch
from battleshiper_cli.local.bus import LocalBus, LocalRule
from lambdas.shared.aws import Clients


class _NoWait:
    def wait(self, **_: Any) -> None:
        """Local stack operations finish before they return."""


def _missing(stack: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationError", "Message": f"Stack with id {stack} does not exist"}},
        "DescribeStacks",
    )


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/local"


def input_transform(transformer: dict[str, Any], event: dict[str, Any]) -> Any:
    """EventBridge's input transformer for the paths our rules use (`$.a.b`); an unquoted `<name>` in the
    template takes the value JSON-encoded."""
    text = transformer["InputTemplate"]
    for name, path in transformer.get("InputPathsMap", {}).items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)


def _references(value: Any, known: set[str]) -> set[str]:
    """The logical ids a resource's properties name (Ref, GetAtt, Sub variables)."""
    if isinstance(value, list):
        return set().union(*(_references(v, known) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, arg in value.items():
        if key == "Ref" and arg in known:
            found.add(arg)
        elif key == "Fn::GetAtt":
            found.add((arg if isinstance(arg, list) else arg.split("."))[0])
        elif key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            found |= {n.split(".")[0] for n in re.findall(r"\$\{([^!}][^}]*)\}", text)} & known
        found |= _references(arg, known)
    return found & known


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Resources in the order CloudFormation creates them: each after those it references."""
    known = set(resources)
    pending = {k: _references(r.get("Properties", {}), known) | set(_list(r.get("DependsOn"))) for k, r in
               resources.items()}
    order: list[str] = []
    while pending:
        ready = sorted(k for k, deps in pending.items() if not deps - set(order))
        if not ready:
            raise ValueError(f"circular references among {sorted(pending)}")
        order += ready
        for k in ready:
            pending.pop(k)
    return order


def _list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


class LocalStacks:
    def __init__(
        self,
        aws: Clients,  # with the project-stack service role
        bus: LocalBus,
        batch: LocalBatch,
        templates: Any,  # an S3 client without the role's limits
        log: Callable[[str], None] = print,
    ) -> None:
        self._templates = templates
        self._aws = aws
        self._bus = bus
        self._batch = batch
        self._log = log
        self._s3, self._lambda, self._logs = aws.client("s3"), aws.client("lambda"), aws.client("logs")
        self._iam = aws.client("iam")
        self.stacks: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.meta = aws.client("cloudformation").meta  # init reads meta.region_name

    # --- the CloudFormation calls the pipeline makes ------------------------------------------------

    def describe_stacks(self, StackName: str | None = None, **_: Any) -> dict[str, Any]:
        if StackName is None:  # every stack, as DescribeStacks without a name lists them
            return {"Stacks": [self._describe(name) for name in sorted(self.stacks)]}
        StackName = StackName.split("/")[1] if StackName.startswith("arn:") else StackName
        if StackName not in self.stacks:
            raise _missing(StackName)
        return {"Stacks": [self._describe(StackName)]}

    def _describe(self, name: str) -> dict[str, Any]:
        stack = self.stacks[name]
        described = {
            "StackName": name,
            "StackStatus": stack["status"],
            "StackId": stack_id(name),
            "CreationTime": stack.get("created", ""),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in stack["parameters"].items()],
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in stack.get("outputs", {}).items()],
            "Tags": stack["tags"],
        }
        if stack.get("reason"):
            described["StackStatusReason"] = stack["reason"]
        return described

    def get_template(self, StackName: str, **_: Any) -> dict[str, Any]:
        if StackName not in self.stacks:
            raise _missing(StackName)
        return {"TemplateBody": self.stacks[StackName].get("template", {})}

    def add_platform_stack(
        self, name: str, template: dict[str, Any], parameters: dict[str, str], outputs: dict[str, str]
    ) -> None:
        """The platform stack's record, so `battleshiper status` and `project` commands find the platform
        as in AWS. Its resources were created through the service APIs (`aws.provision`), not by
        CloudFormation; the status reason says so."""
        self.stacks[name] = {
            "status": "CREATE_COMPLETE",
            "reason": "local platform: resources provisioned through the service APIs, not CloudFormation",
            "parameters": dict(parameters),
            "outputs": dict(outputs),
            "template": template,
            "tags": [],
            "resources": [],
            "events": [],
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": self.stacks.get(StackName, {}).get("events", [])}

    def get_waiter(self, name: str) -> _NoWait:
        return _NoWait()

    def create_stack(
        self,
        StackName: str,
        TemplateURL: str,
        Parameters: list[dict[str, str]],
        Tags: list[dict[str, str]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        with self._lock:
            if StackName in self.stacks:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AlreadyExistsException",
                            "Message": f"Stack [{StackName}] already exists",
                        }
                    },
                    "CreateStack",
                )
            url = urlsplit(TemplateURL)
            bucket, key = url.hostname.split(".s3.", 1)[0], url.path.lstrip("/")  # type: ignore[union-attr]
            # CloudFormation reads the template with the caller's rights (checked when it called).
            template = json.loads(self._templates.get_object(Bucket=bucket, Key=key)["Body"].read())
            parameters = {p["ParameterKey"]: p["ParameterValue"] for p in Parameters}
            stack = {
                "name": StackName,
                "status": "CREATE_IN_PROGRESS",
                "parameters": parameters,
                "tags": Tags or [],
                "resources": [],
                "events": [],
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            self.stacks[StackName] = stack
        try:
            self._create(stack, template, parameters)
            stack["status"] = "CREATE_COMPLETE"
        except Exception as err:
            stack["status"] = "ROLLBACK_COMPLETE"
            stack["events"] = [
                {
                    "ResourceStatus": "CREATE_FAILED",
                    "LogicalResourceId": StackName,
                    "ResourceStatusReason": repr(err)[:400],
                }
            ]
            self._log(f"stack {StackName} failed: {err!r}")
        return {"StackId": stack_id(StackName)}

    def delete_stack(self, StackName: str) -> None:
        stack = self.stacks.pop(StackName, None)
        if stack is None:
            return
        for kind, name in reversed(stack["resources"]):
            try:
                if kind == "rule":
                    self._bus.remove_rule(name)
                elif kind == "job-definition":
                    self._batch.definitions.pop(name, None)
                elif kind == "function":
                    self._lambda.delete_function(FunctionName=name)
                elif kind == "log-group":
                    self._logs.delete_log_group(logGroupName=name)
                elif kind == "role":
                    for policy in self._iam.list_role_policies(RoleName=name)["PolicyNames"]:
                        self._iam.delete_role_policy(RoleName=name, PolicyName=policy)
                    self._iam.delete_role(RoleName=name)
            except ClientError:
                pass

    # --- resources ----------------------------------------------------------------------------------

    def _create(self, stack: dict[str, Any], template: dict[str, Any], parameters: dict[str, str]) -> None:
        resolver = Resolver(
            {
                **{k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()},
                **parameters,
            }
        )
        resources = template["Resources"]
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            self._resource(stack, resolver, logical_id, resource["Type"], resource.get("Properties", {}))

    def _resource(
        self, stack: dict[str, Any], resolver: Resolver, logical_id: str, kind: str, raw: dict[str, Any]
    ) -> None:
        props = resolver.resolve(raw)
        if kind == "AWS::Logs::LogGroup":
            self._logs.create_log_group(logGroupName=props["LogGroupName"])
            resolver.refs[logical_id] = props["LogGroupName"]
            stack["resources"].append(("log-group", props["LogGroupName"]))
        elif kind == "AWS::IAM::Role":
            resolver.attributes[(logical_id, "Arn")] = self._create_role(stack, logical_id, props)
        elif kind == "AWS::Batch::JobDefinition":
            container = props["ContainerProperties"]
            definition = JobDefinition(
                name=props["JobDefinitionName"],
                command=list(container["Command"]),
                environment={e["Name"]: str(e["Value"]) for e in container.get("Environment", [])},
                timeout_seconds=int(props.get("Timeout", {}).get("AttemptDurationSeconds", 900)),
                log_group=str(
                    container.get("LogConfiguration", {}).get("Options", {}).get("awslogs-group", "")
                ),
            )
            self._authorize("batch", "RegisterJobDefinition", {
                "jobDefinitionName": definition.name,
                "containerProperties": {"jobRoleArn": container.get("JobRoleArn"),
                                        "executionRoleArn": container.get("ExecutionRoleArn")},
            })
            self._batch.definitions[definition.name] = definition
            resolver.refs[logical_id] = definition.arn
            stack["resources"].append(("job-definition", definition.name))
        elif kind == "AWS::Events::Rule":
            rule = {"Name": props["Name"], "EventBusName": props.get("EventBusName", "default")}
            self._authorize("events", "PutRule", rule)
            targets = {"Rule": props["Name"], "EventBusName": rule["EventBusName"],
                       "Targets": props.get("Targets", [])}
            self._authorize("events", "PutTargets", targets)
            for target in props.get("Targets", []):
                self._bus.add_rule(
                    LocalRule(
                        props["Name"],
                        props.get("EventBusName", "default"),
                        props["EventPattern"],
                        self._batch_target(target),
                    )
                )
            stack["resources"].append(("rule", props["Name"]))
        elif kind == "AWS::Lambda::Function":
            code = props["Code"]
            self._lambda.create_function(
                FunctionName=props["FunctionName"],
                Runtime=props["Runtime"],
                Role=props["Role"],
                Handler=props["Handler"],
                Code={"S3Bucket": code["S3Bucket"], "S3Key": code["S3Key"]},
                Timeout=int(props.get("Timeout", 3)),
                MemorySize=int(props.get("MemorySize", 128)),
            )
            resolver.refs[logical_id] = props["FunctionName"]
            stack["resources"].append(("function", props["FunctionName"]))

    def _create_role(self, stack: dict[str, Any], logical_id: str, props: dict[str, Any]) -> str:
        """As CloudFormation's IAM handler does, with the service role's rights: the role (named
        `<stack>-<logical id>` when the template names none), then its inline policies."""
        name = props.get("RoleName") or f"{stack['name']}-{logical_id}"[:64]
        create: dict[str, Any] = {
            "RoleName": name,
            "Path": props.get("Path", "/"),
            "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
        }
        if props.get("PermissionsBoundary"):
            create["PermissionsBoundary"] = props["PermissionsBoundary"]
        arn = str(self._iam.create_role(**create)["Role"]["Arn"])
        for policy in props.get("Policies", []):
            self._iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                      PolicyDocument=json.dumps(policy["PolicyDocument"]))
        stack["resources"].append(("role", name))
        return arn

    def _authorize(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """What the resource providers call where the local stand-ins make no AWS call."""
        enforcer = getattr(self._aws, "enforcer", None)
        message = enforcer.check(service, operation, params, None) if enforcer else None
        if enforcer is not None and message is not None:
            raise enforcer.error(service, operation, message)

    def _batch_target(self, target: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        """A rule target that submits a job to the build queue, as EventBridge's Batch target does."""
        definition = target["BatchParameters"]["JobDefinition"].rsplit("/", 1)[-1].split(":", 1)[0]

        def submit(event: dict[str, Any]) -> None:
            job_input = (
                input_transform(target["InputTransformer"], event) if "InputTransformer" in target else {}
            )
            overrides = {
                e["Name"]: str(e["Value"])
                for e in job_input.get("ContainerOverrides", {}).get("Environment", [])
            }
            job = self._batch.submit(
                definition,
                target["Arn"],
                {k: str(v) for k, v in job_input.get("Parameters", {}).items()},
                overrides,
            )
            self._log(f"build job {job.id[:8]} submitted ({definition})")

        return submit
