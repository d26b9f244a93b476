"""What IAM authorizes for one boto3 call: its actions, the resource ARN of each and the context
keys our policies test. Most operations are `<prefix>:<OperationName>` on one resource named by a
parameter; the exceptions (S3's reads and lists, DynamoDB transactions and batches, CopyObject,
CreateStack's template read and role pass, ...) are spelled out here as AWS's service authorization
reference lists them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from battleshiper_cli.local.iam.policy import Request

# IAM's service prefix where it is not the client's name.
PREFIX = {"cloudfront-keyvaluestore": "cloudfront-keyvaluestore", "stepfunctions": "states"}

# Operations AWS authorizes under another action name.
RENAMED = {
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "AbortMultipartUpload"): "AbortMultipartUpload",
    ("s3", "PutBucketOwnershipControls"): "PutBucketOwnershipControls",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "DeleteObjectTagging"): "DeleteObjectTagging",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "GetFunctionConfiguration"): "GetFunctionConfiguration",
    ("logs", "DescribeLogGroups"): "DescribeLogGroups",
}

# Calls that need no permission (STS answers who the caller is to anyone).
UNAUTHORIZED_OK = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Where:
    region: str
    account: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


Params = Mapping[str, Any]
Resolve = Callable[[str, Params, Where], list[Request]]


def _s3(operation: str, p: Params, w: Where) -> str:
    bucket = p.get("Bucket", "*")
    if "Key" in p and operation not in ("ListObjectsV2", "ListObjects"):
        return f"arn:{w.partition}:s3:::{bucket}/{p['Key']}"
    return f"arn:{w.partition}:s3:::{bucket}"


def _function(w: Where, name: str, qualifier: str | None = None) -> str:
    if name.startswith("arn:"):
        return name if qualifier is None or name.count(":") > 6 else f"{name}:{qualifier}"
    base, _, inline = name.partition(":")
    qualifier = qualifier or inline or None
    return w.arn("lambda", f"function:{base}" + (f":{qualifier}" if qualifier else ""))


def _lambda(operation: str, p: Params, w: Where) -> str:
    if "FunctionName" not in p:
        return "*"
    qualified = operation in ("Invoke", "GetFunction", "GetFunctionConfiguration", "DeleteFunction")
    return _function(w, str(p["FunctionName"]), p.get("Qualifier") if qualified else None)


def _table(w: Where, name: str, index: str | None = None) -> str:
    if name.startswith("arn:"):
        return name
    return w.arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))


def _dynamodb(operation: str, p: Params, w: Where) -> str:
    return _table(w, str(p.get("TableName", "*")), p.get("IndexName"))


def _log_group(w: Where, group: str, stream: str | None = None) -> str:
    tail = f":log-stream:{stream}" if stream is not None else ":*"
    return w.arn("logs", f"log-group:{group}{tail}")


def _logs(operation: str, p: Params, w: Where) -> str:
    group = p.get("logGroupName") or p.get("logGroupIdentifier")
    if not group:
        return "*"
    if operation in ("PutLogEvents", "CreateLogStream", "GetLogEvents"):
        return _log_group(w, str(group), str(p.get("logStreamName", "*")))
    return _log_group(w, str(group))


def _secret(operation: str, p: Params, w: Where) -> str:
    secret = str(p.get("SecretId", "*"))
    # A name stands for the secret's ARN, whose random six-character suffix the caller cannot know.
    return secret if secret.startswith("arn:") else w.arn("secretsmanager", f"secret:{secret}-??????")


def _kms(operation: str, p: Params, w: Where) -> str:
    key = str(p.get("KeyId", "*"))
    return key if key.startswith("arn:") or key == "*" else w.arn("kms", f"key/{key}")


def _stack(operation: str, p: Params, w: Where) -> str:
    stack = p.get("StackName")
    if not stack:
        return "*"
    return str(stack) if str(stack).startswith("arn:") else w.arn("cloudformation", f"stack/{stack}/*")


def _bus(name: str | None, w: Where) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else w.arn("events", f"event-bus/{name}")


def _events(operation: str, p: Params, w: Where) -> str:
    if ("Name" in p and operation.endswith("Rule")) or "Rule" in p:
        rule = p.get("Name") or p.get("Rule")
        bus = p.get("EventBusName")
        return w.arn("events", f"rule/{bus + '/' if bus and bus != 'default' else ''}{rule}")
    return _bus(p.get("EventBusName") or p.get("Name"), w)


def _sqs(operation: str, p: Params, w: Where) -> str:
    url = str(p.get("QueueUrl", ""))
    return w.arn("sqs", url.rstrip("/").rsplit("/", 1)[-1]) if url else "*"


def _kvs(operation: str, p: Params, w: Where) -> str:
    return str(p.get("KvsARN", "*"))


def _codedeploy(operation: str, p: Params, w: Where) -> str:
    # The deployment group is not a parameter: the enforcer resolves it (see `enforce.lookups`).
    return str(p.get("__deployment_group_arn", "*"))


def _batch(operation: str, p: Params, w: Where) -> str:
    if p.get("jobDefinitionName"):
        return w.arn("batch", f"job-definition/{p['jobDefinitionName']}")
    return str(p.get("jobQueue") or p.get("jobDefinition") or "*")


RESOURCES: dict[str, Callable[[str, Params, Where], str]] = {
    "s3": _s3,
    "lambda": _lambda,
    "dynamodb": _dynamodb,
    "logs": _logs,
    "secretsmanager": _secret,
    "kms": _kms,
    "cloudformation": _stack,
    "events": _events,
    "sqs": _sqs,
    "cloudfront-keyvaluestore": _kvs,
    "codedeploy": _codedeploy,
    "batch": _batch,
}


def action_name(service: str, operation: str) -> str:
    return f"{PREFIX.get(service, service)}:{RENAMED.get((service, operation), operation)}"


def _simple(service: str, operation: str, p: Params, w: Where) -> Request:
    resource = RESOURCES.get(service, lambda *_: "*")(operation, p, w)
    return Request(action_name(service, operation), resource)


# --- the exceptions ------------------------------------------------------------------------------


def _transact_write(p: Params, w: Where) -> list[Request]:
    verbs = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem"}
    return [
        Request(f"dynamodb:{verbs[kind]}", _table(w, str(body["TableName"])))
        for item in p.get("TransactItems", [])
        for kind, body in item.items()
    ]


def _transact_get(p: Params, w: Where) -> list[Request]:
    return [Request("dynamodb:GetItem", _table(w, str(i["Get"]["TableName"]))) for i in p["TransactItems"]]


def _batch_write(p: Params, w: Where) -> list[Request]:
    return [Request("dynamodb:BatchWriteItem", _table(w, table)) for table in p.get("RequestItems", {})]


def _batch_get(p: Params, w: Where) -> list[Request]:
    return [Request("dynamodb:BatchGetItem", _table(w, table)) for table in p.get("RequestItems", {})]


def _delete_objects(p: Params, w: Where) -> list[Request]:
    bucket = p["Bucket"]
    return [Request("s3:DeleteObject", f"arn:{w.partition}:s3:::{bucket}/{o['Key']}")
            for o in p.get("Delete", {}).get("Objects", [])]


def _copy_object(p: Params, w: Where) -> list[Request]:
    source = p["CopySource"]
    if isinstance(source, Mapping):
        source = f"{source['Bucket']}/{source['Key']}"
    return [Request("s3:GetObject", f"arn:{w.partition}:s3:::{str(source).lstrip('/')}"),
            Request("s3:PutObject", f"arn:{w.partition}:s3:::{p['Bucket']}/{p['Key']}")]


def _put_events(p: Params, w: Where) -> list[Request]:
    """Each entry is authorized on its bus, with its source and detail type as context keys."""
    entries = {
        (str(e.get("EventBusName") or "default"), str(e.get("Source", "")), str(e.get("DetailType", "")))
        for e in p.get("Entries", [])
    }
    return [Request("events:PutEvents", _bus(bus, w), {"events:source": source, "events:detail-type": kind})
            for bus, source, kind in sorted(entries)]


def _template_read(p: Params, w: Where) -> list[Request]:
    """CloudFormation reads a TemplateURL with the caller's rights."""
    url = str(p.get("TemplateURL") or "")
    if not url:
        return []
    host, _, key = url.split("://", 1)[-1].partition("/")
    bucket = host.split(".s3", 1)[0]
    return [Request("s3:GetObject", f"arn:{w.partition}:s3:::{bucket}/{key}")]


def _pass_role(role: Any, service: str) -> list[Request]:
    return [Request("iam:PassRole", str(role), {"iam:PassedToService": service})] if role else []


def _stack_write(operation: str) -> Resolve:
    def resolve(_op: str, p: Params, w: Where) -> list[Request]:
        return [_simple("cloudformation", operation, p, w), *_template_read(p, w),
                *_pass_role(p.get("RoleARN"), "cloudformation.amazonaws.com")]

    return resolve


def _role(_op: str, p: Params, w: Where) -> list[Request]:
    """Role actions: the role's ARN (its path included) and its boundary, as IAM knows them; the
    enforcer's lookup adds both for an existing role (`__role_arn`, `__role_boundary`)."""
    arn = p.get("__role_arn") or w.arn("iam", f"role{p.get('Path', '/')}{p['RoleName']}", region=False)
    boundary = p.get("PermissionsBoundary") or p.get("__role_boundary")
    context = {"iam:PermissionsBoundary": boundary} if boundary else {}
    if _op == "AttachRolePolicy":
        context["iam:PolicyARN"] = str(p.get("PolicyArn", ""))
    return [Request(f"iam:{_op}", str(arn), context)]


def _function_write(operation: str) -> Resolve:
    def resolve(_op: str, p: Params, w: Where) -> list[Request]:
        return [_simple("lambda", operation, p, w), *_pass_role(p.get("Role"), "lambda.amazonaws.com")]

    return resolve


def _two(f: Callable[[Params, Where], list[Request]]) -> Resolve:
    return lambda _op, p, w: f(p, w)


def _job_definition(_op: str, p: Params, w: Where) -> list[Request]:
    container = p.get("containerProperties") or {}
    roles = [container.get("jobRoleArn"), container.get("executionRoleArn")]
    return [_simple("batch", "RegisterJobDefinition", p, w),
            *(r for role in roles for r in _pass_role(role, "ecs-tasks.amazonaws.com"))]


def _put_targets(_op: str, p: Params, w: Where) -> list[Request]:
    return [_simple("events", "PutTargets", p, w),
            *(r for t in p.get("Targets", []) for r in _pass_role(t.get("RoleArn"), "events.amazonaws.com"))]


def _kms_context(_op: str, p: Params, w: Where) -> list[Request]:
    """KMS puts the request's encryption context into the condition keys (`kms:EncryptionContext:<key>`,
    `kms:EncryptionContextKeys`): a role may be limited to the ciphertexts of one project."""
    given = p.get("EncryptionContext") or {}
    context: dict[str, Any] = {f"kms:EncryptionContext:{k}": str(v) for k, v in given.items()}
    if given:
        context["kms:EncryptionContextKeys"] = sorted(given)
    return [Request(action_name("kms", _op), _kms(_op, p, w), context)]


SPECIAL: dict[tuple[str, str], Resolve] = {
    **{("kms", op): _kms_context for op in ("Encrypt", "Decrypt", "GenerateDataKey")},
    ("batch", "RegisterJobDefinition"): _job_definition,
    ("events", "PutTargets"): _put_targets,
    ("dynamodb", "TransactWriteItems"): _two(_transact_write),
    ("dynamodb", "TransactGetItems"): _two(_transact_get),
    ("dynamodb", "BatchWriteItem"): _two(_batch_write),
    ("dynamodb", "BatchGetItem"): _two(_batch_get),
    ("s3", "DeleteObjects"): _two(_delete_objects),
    ("s3", "CopyObject"): _two(_copy_object),
    ("events", "PutEvents"): _two(_put_events),
    ("cloudformation", "CreateStack"): _stack_write("CreateStack"),
    ("cloudformation", "UpdateStack"): _stack_write("UpdateStack"),
    ("cloudformation", "CreateChangeSet"): _stack_write("CreateChangeSet"),
    **{("iam", op): _role for op in ("CreateRole", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy",
                                     "DetachRolePolicy", "DeleteRole", "GetRole", "GetRolePolicy",
                                     "ListRolePolicies", "ListAttachedRolePolicies", "TagRole", "UntagRole",
                                     "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary")},
    ("lambda", "CreateFunction"): _function_write("CreateFunction"),
    ("lambda", "UpdateFunctionConfiguration"): _function_write("UpdateFunctionConfiguration"),
}


def requests_for(service: str, operation: str, params: Params, where: Where) -> list[Request]:
    """Every authorization AWS makes for the call (empty: none needed)."""
    if (service, operation) in UNAUTHORIZED_OK:
        return []
    special = SPECIAL.get((service, operation))
    if special is not None:
        return special(operation, params, where)
    return [_simple(service, operation, params, where)]
