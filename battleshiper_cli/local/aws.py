"""The AWS side of the local platform: moto in server mode on loopback, provisioned from the synthesized
platform template.

moto's CloudFormation skips or crashes on many of our types (see docs/LOCAL.md), so the resources the
local platform needs are created through the service APIs, driven by the template's own resource
properties: table keys and indexes, secret generation rules, bucket, bus, queue and log-group names.
Every name and environment variable comes out of the template through `Resolver`; none is listed here.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from battleshiper_cli.local.throttle import StageThrottle

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
ACCOUNT_CONCURRENCY = 1000  # Lambda's default concurrent executions per account and region
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# moto answers its own bugs with HTML 500s: never retry them into a slow failure.
CLIENT_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=64)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        # Lambda's default account quota, so moto refuses a reservation that leaves fewer than 100
        # executions unreserved, as Lambda does (moto reads it from this process's environment).
        os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(ACCOUNT_CONCURRENCY))
        self.server.start()
        # Lambda and Batch never reach for Docker: the local runners do their work.
        body = json.dumps({"batch": {"use_docker": False}, "lambda": {"use_docker": False}}).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=body,
            method="POST",
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        return self

    def stop(self) -> None:
        self.server.stop()

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=REGION, **CREDENTIALS)

    def client(self, service: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.endpoint, config=CLIENT_CONFIG, **CREDENTIALS
        )

    def resource(self, service: str) -> Any:
        return boto3.resource(
            service, region_name=REGION, endpoint_url=self.endpoint, config=CLIENT_CONFIG, **CREDENTIALS
        )

    def environment(self) -> dict[str, str]:
        """Process environment that points every default boto3 client (e.g. `lambdas.shared.secrets`) here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

@dataclass
class Resolver:
    """Evaluates the intrinsic functions our templates use, against what was created locally."""

    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attribute) -> value

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }

    def ref(self, name: str) -> str:
        for table in (self.parameters, self.pseudo(), self.refs):
            if name in table:
                return table[name]
        return name  # an unprovisioned resource: its logical id, like moto

    def get_att(self, logical_id: str, attribute: str) -> str:
        return (
            self.attributes.get((logical_id, attribute)) or f"arn:aws:local:{REGION}:{ACCOUNT}:{logical_id}"
        )

    def sub(self, text: str, extra: Mapping[str, Any] | None = None) -> str:
        values = {k: self.resolve(v) for k, v in (extra or {}).items()}
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            end = text.index("}", start)
            out.append(text[i:start])
            name = text[start + 2 : end]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in values:
                out.append(str(values[name]))
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
            i = end + 1
        return "".join(out)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if key == "Fn::Sub":
                return self.sub(arg) if isinstance(arg, str) else self.sub(arg[0], arg[1])
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
        return {k: self.resolve(v) for k, v in value.items()}


def _secret_value(props: Mapping[str, Any]) -> str:
    """What Secrets Manager would generate from `GenerateSecretString` (letters and digits only)."""
    generate = props.get("GenerateSecretString") or {}
    length = int(generate.get("PasswordLength", 32))
    value = secrets.token_urlsafe(length * 2).replace("-", "").replace("_", "")[:length]
    if "GenerateStringKey" in generate:
        document = json.loads(generate.get("SecretStringTemplate") or "{}")
        document[generate["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


def provision(
    aws: Any, template: Mapping[str, Any], parameters: dict[str, str], stack: str
) -> Resolver:
    """Create the template's tables, buckets, secrets, KMS key and alias, log groups, bus and queues in
    moto; the returned resolver maps every Ref/GetAtt of the template to what was created. Parameters not
    given take their template defaults, as CloudFormation gives them."""
    defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items() if "Default" in v}
    resolver = Resolver(defaults | parameters)
    resources: Mapping[str, Any] = template["Resources"]
    dynamodb, s3, sm = aws.client("dynamodb"), aws.client("s3"), aws.client("secretsmanager")
    logs, events, sqs, kms = aws.client("logs"), aws.client("events"), aws.client("sqs"), aws.client("kms")
    for logical_id, resource in sorted(resources.items()):
        kind, props = resource["Type"], resolver.resolve(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table":
            spec: dict[str, Any] = {k: props[k] for k in ("TableName", "KeySchema", "AttributeDefinitions")}
            if props.get("GlobalSecondaryIndexes"):
                spec["GlobalSecondaryIndexes"] = [
                    {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                    for index in props["GlobalSecondaryIndexes"]
                ]
            arn = dynamodb.create_table(BillingMode="PAY_PER_REQUEST", **spec)["TableDescription"]["TableArn"]
            resolver.refs[logical_id] = props["TableName"]
            resolver.attributes[(logical_id, "Arn")] = arn
        elif kind == "AWS::S3::Bucket":
            # The stack lets CloudFormation name buckets; locally the name is the stack and logical id.
            name = props.get("BucketName") or f"{stack}-{logical_id.lower()}"
            s3.create_bucket(Bucket=name)
            resolver.refs[logical_id] = name
            resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        elif kind == "AWS::SecretsManager::Secret":
            arn = sm.create_secret(Name=props["Name"], SecretString=_secret_value(props))["ARN"]
            resolver.refs[logical_id] = arn
        elif kind == "AWS::KMS::Key":
            arn = kms.create_key(Description=props.get("Description", ""))["KeyMetadata"]["Arn"]
            resolver.refs[logical_id] = arn.rsplit("/", 1)[-1]
            resolver.attributes[(logical_id, "Arn")] = arn
        elif kind == "AWS::KMS::Alias":  # after its key: resources go in logical id order
            kms.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
            resolver.refs[logical_id] = props["AliasName"]
        elif kind == "AWS::Logs::LogGroup":
            logs.create_log_group(logGroupName=props["LogGroupName"])
            resolver.refs[logical_id] = props["LogGroupName"]
            resolver.attributes[(logical_id, "Arn")] = (
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{props['LogGroupName']}:*"
            )
        elif kind == "AWS::Events::EventBus":
            arn = events.create_event_bus(Name=props["Name"])["EventBusArn"]
            resolver.refs[logical_id] = props["Name"]
            resolver.attributes[(logical_id, "Name")] = props["Name"]
            resolver.attributes[(logical_id, "Arn")] = arn
        elif kind == "AWS::SQS::Queue":
            url = sqs.create_queue(QueueName=props.get("QueueName") or f"{stack}-{logical_id}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            resolver.refs[logical_id] = url
            resolver.attributes[(logical_id, "Arn")] = arn
        elif kind == "AWS::Batch::JobQueue":
            # The queue is only a name here: the local build runner takes the jobs.
            resolver.refs[logical_id] = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{props['JobQueueName']}"
        elif kind == "AWS::CloudFront::KeyValueStore":
            # The data plane is the local route store; the ARN only has to be well formed.
            resolver.attributes[(logical_id, "Arn")] = (
                f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/{props['Name']}"
            )
            resolver.attributes[(logical_id, "Id")] = props["Name"]
        elif kind == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName") or logical_id
            resolver.refs[logical_id] = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        elif kind == "AWS::IAM::Role":
            resolver.attributes[(logical_id, "Arn")] = f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        elif kind == "AWS::Lambda::Function":
            name = props.get("FunctionName") or logical_id
            resolver.refs[logical_id] = name
            resolver.attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return resolver


def functions(template: Mapping[str, Any], resolver: Resolver) -> dict[str, dict[str, Any]]:
    """Every Lambda function of the template: logical id -> {name, handler, environment}."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            found[logical_id] = {
                "name": resolver.resolve(props.get("FunctionName", logical_id)),
                "handler": props["Handler"],
                "environment": {
                    k: str(v)
                    for k, v in resolver.resolve(
                        (props.get("Environment") or {}).get("Variables", {})
                    ).items()
                },
            }
    return found


def rules(template: Mapping[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    """Every EventBridge rule: its name, bus (default when none), pattern and targets, resolved."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Events::Rule":
            props = resource["Properties"]
            found.append(
                {
                    "logical_id": logical_id,
                    "name": resolver.resolve(props.get("Name", logical_id)),
                    "bus": resolver.resolve(props.get("EventBusName", "default")),
                    "pattern": resolver.resolve(props["EventPattern"]),
                    "targets": props.get("Targets", []),  # unresolved: callers read the logical ids
                }
            )
    return found


def stage_throttles(template: Mapping[str, Any], resolver: Resolver) -> dict[str, StageThrottle]:
    """Each HTTP API stage's throttle (its default route settings), by the stage's API logical id."""
    throttles = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::ApiGatewayV2::Stage":
            continue
        props = resolver.resolve(resource["Properties"])
        settings = props.get("DefaultRouteSettings") or {}
        if "ThrottlingRateLimit" in settings:
            api = resource["Properties"]["ApiId"]["Ref"]
            throttles[api] = StageThrottle(
                float(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])
            )
    return throttles
