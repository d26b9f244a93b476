"""The pipeline subsystem: the event bus and the init/deploy/delete functions behind it, the Batch build
queue in its own VPC (`build_network`) and the build asset bucket. What project stacks are made with
(their service role and permissions boundary) lives in `templates.project_stack`."""

from __future__ import annotations

from collections.abc import Sequence

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere.awslambda import DestinationConfig, EventInvokeConfig, Function, OnFailure, Permission
from troposphere.batch import JobQueue
from troposphere.events import DeadLetterConfig, EventBus, RetryPolicy, Rule, Target
from troposphere.iam import ManagedPolicy, Role
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    LifecycleRule,
)
from troposphere.sqs import Queue, QueuePolicy

from lambdas.shared import names
from lambdas.shared.names import Env
from templates import build_network, ids, project_stack
from templates.common import (
    ROUTE_STORE_ACCESS,
    TABLE_READ,
    TABLE_WRITE,
    FunctionSpec,
    actions,
    allow,
    arn,
    bucket_arn,
    put_events,
    python_function,
)
from templates.config import PlatformConfig
from templates.data import table_environment
from templates.parameters import PARAM_ARTIFACTS_BUCKET
from templates.storage import bucket_policy, private_bucket

PIPELINE_TIMEOUT_SECONDS = 900
# The deploy extracts a build output to /tmp (`lambdas.pipeline.work`): up to the subscription's three
# storage quotas together, which subscription managers set at run time, so the template cannot size it to
# them: Lambda's most, 10 GB. It is billed only while the function runs ($0.0000000309 per GB-second in
# us-east-1 above the free 512 MB: about $0.00002 for a one-minute deploy). An output that still does not
# fit is refused with its reason (docs/PIPELINE.md, *Streaming*).
DEPLOY_EPHEMERAL_STORAGE_MB = 10240


# --- small helpers -------------------------------------------------------------------------------

def table_access(logical_id: str, actions: Sequence[str]) -> Statement:
    table = GetAtt(logical_id, "Arn")
    return allow(actions, [table, Sub("${Table}/index/*", Table=table)])


def bucket_access(bucket: object, object_actions: Sequence[str], prefix: str = "") -> list[Statement]:
    return [
        allow(["s3:ListBucket"], [bucket_arn(bucket)]),
        allow(object_actions, [bucket_arn(bucket, f"/{prefix}*")]),
    ]


def log_groups_write(pattern: str) -> Statement:
    """Log writing to every log group matching `pattern` (e.g. all projects' deploy groups)."""
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], [arn("logs", f"log-group:{pattern}:*")])


# --- storage and queues ---------------------------------------------------------------------------

def add_build_bucket(t: Template, config: PlatformConfig) -> Bucket:
    """Build specs and outputs live here for a day: deploy copies what it keeps elsewhere."""
    expire = LifecycleRule(
        Id="expire-builds", Status="Enabled", Prefix="", ExpirationInDays=1,
        AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
    )
    bucket = private_bucket(t, ids.BUILD_BUCKET, config, lifecycle=[expire])
    bucket_policy(t, bucket)
    return bucket


def add_dead_letter_queue(t: Template) -> Queue:
    """Pipeline events that could not be delivered or kept failing (reference defects 34, 41)."""
    return t.add_resource(Queue(ids.PIPELINE_DLQ, MessageRetentionPeriod=14 * 24 * 3600,
                                SqsManagedSseEnabled=True))


def allow_rules_into_queue(t: Template, config: PlatformConfig, queue: Queue, rules: Sequence[Rule]) -> None:
    """EventBridge puts undeliverable events of the platform's rules and of every project's build rule
    into the queue."""
    build_rules = arn("events", f"rule/{config.names.bus}/{config.names.project_build_rule_prefix}*")
    t.add_resource(QueuePolicy(
        "PipelineDeadLetterQueuePolicy", Queues=[Ref(queue)],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", ["events.amazonaws.com"]),
            Action=[AwacsAction("sqs", "SendMessage")], Resource=[GetAtt(queue, "Arn")],
            Condition=Condition(ArnLike("aws:SourceArn", [*(GetAtt(r, "Arn") for r in rules), build_rules])),
        )]),
    ))


# --- the pipeline functions -----------------------------------------------------------------------

def add_functions(t: Template, config: PlatformConfig, *, bus: EventBus, queue: JobQueue, bucket: Bucket,
                  dlq: Queue, boundary: ManagedPolicy, stack_role: Role) -> list[Rule]:
    n = config.names
    template = config.artifact("project-template")
    environment: dict[str, object] = {
        Env.EVENT_BUS: GetAtt(bus, "Name"),
        **table_environment(names.TABLES),
        Env.TICKET_KEY_SECRET_ARN: Ref(ids.TICKET_KEY_SECRET),
        Env.ARTIFACTS_BUCKET: Ref(PARAM_ARTIFACTS_BUCKET),
        Env.PROJECT_TEMPLATE_KEY: template.key,
        Env.PROJECT_TEMPLATE_HASH: template.sha256,
        Env.PROJECT_SERVER_KEY: config.artifact("project-server").key,
        Env.BUILD_IMAGE: config.build_image,
        Env.BUILD_QUEUE_ARN: Ref(queue),
        Env.BUILD_BUCKET: Ref(bucket),
        Env.PROJECT_BUCKET: Ref(ids.PROJECT_BUCKET),
        Env.ROUTE_STORE_ARN: GetAtt(ids.ROUTE_STORE, "Arn"),
        Env.PROJECT_STACK_ROLE_ARN: GetAtt(stack_role, "Arn"),
        Env.PROJECT_BOUNDARY_ARN: Ref(boundary),
        Env.PIPELINE_DLQ_ARN: GetAtt(dlq, "Arn"),
        Env.TOKEN_KEY_ARN: GetAtt(ids.TOKEN_KEY, "Arn"),  # project stacks' ConfigKeyArn
        Env.PROJECT_FUNCTION_PREFIX: n.project_function_prefix,
        Env.KEEP_DEPLOYMENTS: str(config.keep_deployments),
        Env.LOG_RETENTION_DAYS: str(config.log_retention_days),
    }

    stacks = arn("cloudformation", f"stack/{n.project_stack_prefix}*/*")
    common = [allow(["sqs:SendMessage"], [GetAtt(dlq, "Arn")])]  # failed invocations (EventInvokeConfig)
    # Only init creates stacks, so only init passes the service role (to CloudFormation alone).
    to_cloudformation = Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))
    pass_stack_role = allow(["iam:PassRole"], [GetAtt(stack_role, "Arn")], Condition=to_cloudformation)
    stack_read = ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"]
    # CreateStack/UpdateStack read the template from its URL with the caller's rights.
    template_read = allow(["s3:GetObject"], [bucket_arn(Ref(PARAM_ARTIFACTS_BUCKET), f"/{template.key}")])
    tickets = [allow(["secretsmanager:GetSecretValue"], [Ref(ids.TICKET_KEY_SECRET)]),
               table_access(ids.NONCES_TABLE, ["dynamodb:PutItem"])]  # one use per ticket id
    project_functions = arn("lambda", f"function:{n.project_function_prefix}*")
    statements = {
        "init": [
            # TagResource: CreateStack with tags (the template hash `update` rolls forward by).
            allow([*stack_read, "cloudformation:CreateStack", "cloudformation:DeleteStack",
                   "cloudformation:TagResource"], [stacks]),
            pass_stack_role, template_read, *tickets,
            table_access(ids.PROJECTS_TABLE, [*TABLE_READ, *TABLE_WRITE]),
            table_access(ids.USERS_TABLE, TABLE_READ),
            log_groups_write(f"{n.project_log_group_prefix}*/event"),
        ],
        "deploy": [  # no CloudFormation: project stacks are created by init and rolled forward by `update`
            table_access(ids.PROJECTS_TABLE, [*TABLE_READ, *TABLE_WRITE]),
            table_access(ids.DEPLOYMENTS_TABLE, [*TABLE_READ, *TABLE_WRITE]),
            table_access(ids.USERS_TABLE, TABLE_READ),
            table_access(ids.SUBSCRIPTIONS_TABLE, TABLE_READ),
            *bucket_access(Ref(bucket), ["s3:GetObject", "s3:DeleteObject"]),
            *bucket_access(Ref(ids.PROJECT_BUCKET), ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
            allow(ROUTE_STORE_ACCESS, [GetAtt(ids.ROUTE_STORE, "Arn")]),
            # A finished build starts the project's queued one (`build_queue.release`).
            put_events(),
            # New code (GetFunction: the update waiter), a version and an alias per deployment
            # (`names.deployment_alias`), `live` created at the first go-live and moved after.
            allow(actions("lambda", "GetFunction", "UpdateFunctionCode", "PublishVersion", "GetAlias",
                          "CreateAlias", "UpdateAlias", "DeleteAlias"),
                  [project_functions, arn("lambda", f"function:{n.project_function_prefix}*:*")]),
            # The subscription's concurrency bound (`lambdas/pipeline/concurrency.py`): unqualified only.
            allow(["lambda:PutFunctionConcurrency"], [project_functions]),
            # Pruning old versions: qualified ARNs only, so the function itself cannot be deleted.
            allow(["lambda:DeleteFunction"], [arn("lambda", f"function:{n.project_function_prefix}*:*")]),
            log_groups_write(f"{n.project_log_group_prefix}*/deploy"),
        ],
        "delete": [
            allow([*stack_read, "cloudformation:DeleteStack"], [stacks]),
            *tickets,
            # May a maintainer delete another's project; the owner's project count comes back with the
            # record (`quotas.release_project`, one transaction).
            table_access(ids.USERS_TABLE, [*TABLE_READ, "dynamodb:UpdateItem"]),
            table_access(ids.PROJECTS_TABLE, [*TABLE_READ, *TABLE_WRITE]),
            table_access(ids.DEPLOYMENTS_TABLE, [*TABLE_READ, *TABLE_WRITE]),
            *bucket_access(Ref(bucket), ["s3:DeleteObject"]),
            *bucket_access(Ref(ids.PROJECT_BUCKET), ["s3:DeleteObject"]),
            allow(ROUTE_STORE_ACCESS, [GetAtt(ids.ROUTE_STORE, "Arn")]),
            log_groups_write(f"{n.project_log_group_prefix}*/event"),
        ],
    }

    group = t.resources[ids.PIPELINE_LOG_GROUP]  # owned by the internal subsystem
    on_pipeline_bus = {"EventBusName": GetAtt(bus, "Name")}
    triggers: dict[str, tuple[dict[str, object], dict[str, object]]] = {
        "init": (on_pipeline_bus, {"source": [names.EVENT_SOURCE], "detail-type": [names.INIT_DETAIL_TYPE]}),
        # Batch reports job state changes on the default bus only.
        "deploy": ({}, {"source": [names.BATCH_EVENT_SOURCE], "detail-type": [names.BATCH_DETAIL_TYPE],
                        "detail": {"jobQueue": [Ref(queue)], "status": ["SUCCEEDED", "FAILED"]}}),
        "delete": (on_pipeline_bus,
                   {"source": [names.EVENT_SOURCE], "detail-type": [names.DELETE_DETAIL_TYPE]}),
    }
    rules = []
    for role, (bus_props, pattern) in triggers.items():
        title = f"Pipeline{role.capitalize()}"
        function, _ = python_function(t, config, FunctionSpec(
            logical_id=f"{title}Function", name=n.function(f"pipeline-{role}"),
            handler=f"lambdas.pipeline.{role}.handler", artifact="pipeline", log_group=group,
            statements=[*common, *statements[role]], environment=environment,
            timeout=PIPELINE_TIMEOUT_SECONDS, memory=1024 if role == "deploy" else 256,
            ephemeral_storage=DEPLOY_EPHEMERAL_STORAGE_MB if role == "deploy" else None,
            description=f"Pipeline: {role}",
        ))
        rules.append(add_trigger(t, title, n.rule(f"pipeline-{role}"), function, dlq, bus_props, pattern))
    return rules


def add_trigger(t: Template, title: str, name: str, function: Function, dlq: Queue,
                bus_props: dict[str, object], pattern: dict[str, object]) -> Rule:
    """Rule → function, with retries and a dead-letter queue on both legs: EventBridge's delivery and
    the function's own asynchronous retries (reference defect 34)."""
    rule = t.add_resource(Rule(
        f"{title}Rule", Name=name, State="ENABLED", EventPattern=pattern, **bus_props,
        Targets=[Target(
            Id="function", Arn=GetAtt(function, "Arn"),
            RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=3600),
            DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(dlq, "Arn")),
        )],
    ))
    t.add_resource(Permission(f"{title}Permission", Action="lambda:InvokeFunction",
                              FunctionName=GetAtt(function, "Arn"), Principal="events.amazonaws.com",
                              SourceArn=GetAtt(rule, "Arn")))
    t.add_resource(EventInvokeConfig(
        f"{title}InvokeConfig", FunctionName=Ref(function), Qualifier="$LATEST", MaximumRetryAttempts=2,
        DestinationConfig=DestinationConfig(OnFailure=OnFailure(Destination=GetAtt(dlq, "Arn"))),
    ))
    return rule


def add(t: Template, config: PlatformConfig) -> None:
    bus = t.add_resource(EventBus(ids.EVENT_BUS, Name=config.names.bus))
    subnets, group = build_network.add_network(t, config)
    queue = build_network.add_batch(t, config, subnets, group)
    bucket = add_build_bucket(t, config)
    dlq = add_dead_letter_queue(t)
    boundary = project_stack.add_project_boundary(t, config, queue, bucket)
    stack_role = project_stack.add_project_stack_role(t, config, boundary)
    rules = add_functions(t, config, bus=bus, queue=queue, bucket=bucket, dlq=dlq, boundary=boundary,
                          stack_role=stack_role)
    allow_rules_into_queue(t, config, dlq, rules)
    t.add_output(Output(ids.OUTPUT_BUILD_BUCKET, Value=Ref(bucket)))
    t.add_output(Output(ids.OUTPUT_PROJECT_STACK_ROLE, Value=GetAtt(stack_role, "Arn")))
