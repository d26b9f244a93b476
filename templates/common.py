"""Building blocks shared by the subsystem modules: a function with its own role and log group,
IAM statement helpers, ARNs that follow the partition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AWSObject, GetAtt, Parameter, Ref, Sub, Tags, Template
from troposphere.apigatewayv2 import RouteSettings
from troposphere.awslambda import Code, Environment, EphemeralStorage, Function, LoggingConfig
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup

from lambdas.shared.names import EVENT_SOURCE
from templates import ids
from templates.config import PlatformConfig
from templates.parameters import PARAM_ARTIFACTS_BUCKET

PARTITION = "${AWS::Partition}"
REGION = "${AWS::Region}"
ACCOUNT = "${AWS::AccountId}"
URL_SUFFIX = "${AWS::URLSuffix}"

# Write actions the platform grants on `Resource: "*"` because AWS offers no resource-level
# permission for them. tests/templates/test_platform.py refuses any other `*` write grant.
WILDCARD_WRITE_ACTIONS = frozenset(
    {
        "lambda:CreateEventSourceMapping",
        "logs:StopQuery",  # addressed by query id only (GetQueryResults likewise, but it is a read)
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)


# The one vocabulary of data-plane actions: exactly the calls the runtime makes (lambdas/shared/store.py,
# quotas.py, routes.py). Scans are the administrator's alone (`TABLE_SCAN`).
TABLE_READ = ["dynamodb:GetItem", "dynamodb:Query"]
TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
TABLE_SCAN = ["dynamodb:Scan"]
ROUTE_STORE_ACCESS = [
    f"cloudfront-keyvaluestore:{verb}" for verb in ("DescribeKeyValueStore", "GetKey", "UpdateKeys")
]


def arn(service: str, resource: str, region: bool = True, account: bool = True) -> Sub:
    """An ARN in the stack's partition (`resource` may use `${...}` Sub variables)."""
    return Sub(
        f"arn:{PARTITION}:{service}:{REGION if region else ''}:{ACCOUNT if account else ''}:{resource}"
    )


def actions(service: str, *verbs: str) -> list[str]:
    return [f"{service}:{verb}" for verb in verbs]


def bucket_arn(bucket: object, suffix: str = "") -> Sub:
    return Sub(f"arn:{PARTITION}:s3:::${{Bucket}}{suffix}", Bucket=bucket)


def allow(actions: Sequence[str], resources: Sequence[object], **kw: object) -> Statement:
    return Statement(
        Effect=Allow,
        Action=[AwacsAction(*a.split(":", 1)) for a in actions],
        Resource=list(resources),
        **kw,
    )


def service_role(
    t: Template,
    logical_id: str,
    service: str,
    statements: Sequence[Statement],
    *,
    managed_policies: Sequence[object] = (),
    path: str | None = None,
    boundary: object | None = None,
) -> Role:
    """A role that one AWS service assumes, with one inline policy holding exactly `statements`."""
    props: dict[str, object] = {
        "AssumeRolePolicyDocument": PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(Effect=Allow, Action=[AssumeRole], Principal=Principal("Service", [service]))
            ],
        ),
    }
    if statements:
        props["Policies"] = [
            Policy(
                PolicyName="access",
                PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=list(statements)),
            )
        ]
    if managed_policies:
        props["ManagedPolicyArns"] = list(managed_policies)
    if path:
        props["Path"] = path
    if boundary is not None:
        props["PermissionsBoundary"] = boundary
    return t.add_resource(Role(logical_id, **props))


def log_group(t: Template, logical_id: str, name: object, retention_days: int) -> LogGroup:
    return t.add_resource(
        LogGroup(logical_id, LogGroupName=name, RetentionInDays=retention_days, DeletionPolicy="Delete")
    )


def log_group_arn(group: LogGroup) -> Sub:
    """The `…:log-group:<name>:*` ARN IAM expects for stream-level actions."""
    return Sub(f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:${{Name}}:*", Name=Ref(group))


def log_write(group: LogGroup) -> Statement:
    """CreateLogStream/PutLogEvents on one group (and its streams)."""
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn(group)])


@dataclass
class FunctionSpec:
    """What differs between the platform's Python functions."""

    logical_id: str
    name: str
    handler: str
    artifact: str
    log_group: LogGroup
    statements: list[Statement] = field(default_factory=list)
    environment: dict[str, object] = field(default_factory=dict)
    timeout: int = 10
    memory: int = 256
    ephemeral_storage: int | None = None  # MB of /tmp; Lambda's default (512) when None
    runtime: str | None = None  # default: the config's Python runtime
    layers: bool = True
    description: str = ""


def python_function(t: Template, config: PlatformConfig, spec: FunctionSpec) -> tuple[Function, Role]:
    """A Lambda function with its own role (log writing plus `spec.statements`), code from the
    artifacts bucket and the dependency layer."""
    role = service_role(
        t,
        f"{spec.logical_id}Role",
        "lambda.amazonaws.com",
        [log_write(spec.log_group), *spec.statements],
    )
    artifact = config.artifact(spec.artifact)
    props: dict[str, object] = {
        "FunctionName": spec.name,
        "Description": spec.description or spec.name,
        "Runtime": spec.runtime or config.python_runtime,
        "Architectures": [config.architecture],
        "Handler": spec.handler,
        "Code": Code(S3Bucket=Ref(PARAM_ARTIFACTS_BUCKET), S3Key=artifact.key),
        "Role": GetAtt(role, "Arn"),
        "MemorySize": spec.memory,
        "Timeout": spec.timeout,
        "LoggingConfig": LoggingConfig(LogGroup=Ref(spec.log_group)),
        "Tags": Tags(**{config.names.stack_tag: config.stack_name}),
    }
    if spec.ephemeral_storage:
        props["EphemeralStorage"] = EphemeralStorage(Size=spec.ephemeral_storage)
    if spec.layers:
        props["Layers"] = [Ref("DependencyLayer")]
    env = {"BATTLESHIPER_STACK": config.stack_name, **spec.environment}
    props["Environment"] = Environment(Variables=env)
    function = t.add_resource(Function(spec.logical_id, **props))
    return function, role


def add_parameter(t: Template, name: str, description: str, pattern: str, constraint: str) -> Parameter:
    return t.add_parameter(
        Parameter(
            name,
            Type="String",
            Description=description,
            AllowedPattern=pattern,
            ConstraintDescription=constraint,
        )
    )


def resource_of(t: Template, logical_id: str) -> AWSObject:
    return t.resources[logical_id]


def put_events() -> Statement:
    """Events on the pipeline bus, from the platform's own source only: no function can forge another
    sender's events."""
    return allow(
        ["events:PutEvents"],
        [GetAtt(ids.EVENT_BUS, "Arn")],
        Condition=Condition(StringEquals("events:source", [EVENT_SOURCE])),
    )


def throttled(rate: str, burst: str) -> RouteSettings:
    """Stage throttling from the two platform parameters (API Gateway answers 429 beyond them)."""
    return RouteSettings(ThrottlingRateLimit=Ref(rate), ThrottlingBurstLimit=Ref(burst))
