"""The per-project stack: the project's log groups, its build (job definition, roles, the rule that
submits a job per build event) and its server function. No version and no `live` alias: the pipeline
publishes a version per deployment and owns `live` (it creates it at the first go-live), so no stack
update, such as `battleshiper update` rolling the template forward, can undo a rollback.

Rendered once at packaging time and shipped as the `project-template` artifact; the init function
creates a stack from it per project, `battleshiper update` rolls existing stacks forward. Every value
that differs between projects or installations is a parameter (`names.ProjectStackParams`), so the
pipeline needs no troposphere at run time. Every role carries the project path and the permissions
boundary: the platform's CloudFormation service role may create no other kind of role.
"""

from __future__ import annotations

import json

from awacs.aws import Condition, Statement, StringEquals
from troposphere import GetAtt, Parameter, Ref, Sub, Tags, Template
from troposphere.awslambda import Code, Function, LoggingConfig
from troposphere.batch import (
    ContainerProperties,
    Environment,
    EvaluateOnExit,
    FargatePlatformConfiguration,
    JobDefinition,
    LogConfiguration,
    NetworkConfiguration,
    ResourceRequirement,
    RetryStrategy,
    RuntimePlatform,
    Timeout,
)
from troposphere.events import BatchParameters, DeadLetterConfig, InputTransformer, RetryPolicy, Rule, Target
from troposphere.logs import LogGroup

from lambdas.shared import names
from lambdas.shared.names import PROJECT_NAME_PATTERN, Env, ProjectStackParams
from templates.common import add_parameter, allow, log_group, log_write, service_role
from templates.config import BUILD_RUNNER, PlatformConfig
from templates.parameters import BUCKET_PATTERN

PROJECT = "${" + ProjectStackParams.PROJECT_NAME + "}"  # Sub variable of the project name
BUILD_BUCKET = "${" + ProjectStackParams.BUILD_BUCKET + "}"

# Batch retries a build only when the capacity under it went away (Spot reclaim, host loss, a task
# that never started); a failing build command fails at once (reference defect 45).
RETRY_ON_STATUS_REASONS = ("Host EC2*", "Your Spot Task was interrupted*", "Task failed to start*")
BUILD_ATTEMPTS = 2
# Time the runner keeps for fetching, packing and uploading around install + build.
RUNNER_MARGIN_SECONDS = 120


def _add_parameters(t: Template, config: PlatformConfig) -> None:
    p = ProjectStackParams
    t.add_parameter(Parameter(
        p.PROJECT_NAME, Type="String", Description="Project name (a DNS label)",
        AllowedPattern=PROJECT_NAME_PATTERN, MaxLength=names.MAX_PROJECT_NAME,
        ConstraintDescription="lowercase letters, digits and single hyphens, at most 32 characters",
    ))
    # Operator-controlled images only (reference defect 12): the allow-list comes from the config.
    t.add_parameter(Parameter(
        p.BUILD_IMAGE, Type="String", Description="Container image of the build job",
        Default=config.build_image, AllowedValues=[config.build_image],
    ))
    add_parameter(t, p.EVENT_BUS_NAME, "The platform's pipeline event bus", r"^[A-Za-z0-9._-]{1,256}$",
                  "an event bus name")
    add_parameter(t, p.BUILD_QUEUE_ARN, "The platform's build job queue",
                  r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-queue/[A-Za-z0-9_-]{1,128}$",
                  "a Batch job queue ARN")
    add_parameter(t, p.BUILD_BUCKET, "The platform's build asset bucket", BUCKET_PATTERN, "an S3 bucket name")
    add_parameter(t, p.BOUNDARY_ARN, "Permissions boundary of every project role",
                  r"^arn:aws[a-z-]*:iam::\d{12}:policy/[A-Za-z0-9+=,.@_/-]+$", "an IAM policy ARN")
    add_parameter(t, p.DEAD_LETTER_QUEUE_ARN, "Where undeliverable build events go",
                  r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$", "an SQS queue ARN")
    add_parameter(t, p.SERVER_CODE_BUCKET, "Bucket of the server function's initial code", BUCKET_PATTERN,
                  "an S3 bucket name")
    add_parameter(t, p.SERVER_CODE_KEY, "Key of the server function's initial code (a placeholder)",
                  r"^[A-Za-z0-9!_.*'()/-]{1,1024}$", "an S3 key")
    add_parameter(t, p.CONFIG_KEY_ARN, "The platform's KMS key, which seals the project's configuration",
                  r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]{36}$", "a KMS key ARN")


def _log_groups(t: Template, config: PlatformConfig) -> dict[str, LogGroup]:
    return {
        kind: log_group(t, f"{kind.capitalize()}LogGroup", Sub(config.names.project_log_group(PROJECT, kind)),
                        config.log_retention_days)
        for kind in names.PROJECT_LOG_KINDS
    }


def _project_role(t: Template, config: PlatformConfig, logical_id: str, service: str,
                  statements: list[Statement]) -> object:
    return service_role(t, logical_id, service, statements, path=config.names.project_role_path,
                        boundary=Ref(ProjectStackParams.BOUNDARY_ARN))


def build_runner_command() -> list[str]:
    """The job definition's command: the build runner, embedded so the job reads no artifacts."""
    return ["node", "--input-type=module", "-e", BUILD_RUNNER.read_text()]


def _build(t: Template, config: PlatformConfig, groups: dict[str, LogGroup]) -> None:
    n = config.names
    build_group = groups["build"]
    execution_role = _project_role(t, config, "BuildJobExecutionRole", "ecs-tasks.amazonaws.com",
                                   [log_write(build_group)])
    # The job may read its own build specs and write its own outputs, nothing else (least privilege).
    job_role = _project_role(t, config, "BuildJobRole", "ecs-tasks.amazonaws.com", [
        allow(["s3:GetObject"], [Sub(f"arn:${{AWS::Partition}}:s3:::{BUILD_BUCKET}/"
                                     f"{names.build_spec_key(PROJECT, '*')}")]),
        allow(["s3:PutObject"], [Sub(f"arn:${{AWS::Partition}}:s3:::{BUILD_BUCKET}/"
                                     f"{names.build_output_key(PROJECT, '*')}")]),
    ])
    timeout = config.build_timeout_seconds
    runner_seconds = max(timeout - RUNNER_MARGIN_SECONDS, timeout // 2)
    environment = {
        Env.BUILD_BUCKET: Ref(ProjectStackParams.BUILD_BUCKET),
        Env.PROJECT: Ref(ProjectStackParams.PROJECT_NAME),
        "AWS_REGION": Ref("AWS::Region"),
        Env.S3_ENDPOINT: Sub(f"https://{BUILD_BUCKET}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}"),
        Env.BUILD_TIMEOUT_SECONDS: str(runner_seconds),
        # The job starts as root; the user's commands run as this user, out of reach of the job's
        # credentials (build.mjs).
        Env.BUILD_USER: names.BUILD_USER,
    }
    job_definition = t.add_resource(JobDefinition(
        "BuildJobDefinition",
        JobDefinitionName=Sub(n.job_definition(PROJECT)),
        Type="container",
        PlatformCapabilities=["FARGATE"],
        PropagateTags=True,
        Tags={n.stack_tag: config.stack_name, n.project_tag: Ref(ProjectStackParams.PROJECT_NAME)},
        Timeout=Timeout(AttemptDurationSeconds=config.build_timeout_seconds),
        RetryStrategy=RetryStrategy(
            Attempts=BUILD_ATTEMPTS,
            EvaluateOnExit=[
                *(EvaluateOnExit(Action="RETRY", OnStatusReason=r) for r in RETRY_ON_STATUS_REASONS),
                EvaluateOnExit(Action="EXIT", OnReason="*"),
            ],
        ),
        ContainerProperties=ContainerProperties(
            Image=Ref(ProjectStackParams.BUILD_IMAGE),
            Command=build_runner_command(),
            JobRoleArn=GetAtt(job_role, "Arn"),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            ResourceRequirements=[
                ResourceRequirement(Type="VCPU", Value=f"{config.build_vcpus:g}"),
                ResourceRequirement(Type="MEMORY", Value=str(config.build_memory_mib)),
            ],
            # Same architecture as the Lambda functions the build produces code for.
            RuntimePlatform=RuntimePlatform(CpuArchitecture="ARM64", OperatingSystemFamily="LINUX"),
            FargatePlatformConfiguration=FargatePlatformConfiguration(PlatformVersion="LATEST"),
            # Public subnets without NAT: the task needs a public address to reach GitHub and npm.
            NetworkConfiguration=NetworkConfiguration(AssignPublicIp="ENABLED"),
            LogConfiguration=LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(build_group),
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": "build",
            }),
            Environment=[Environment(Name=k, Value=v) for k, v in environment.items()],
        ),
    ))

    rule_name = Sub(n.project_build_rule(PROJECT))
    rule_role = _project_role(t, config, "BuildRuleRole", "events.amazonaws.com", [
        allow(["batch:SubmitJob"], [Ref(ProjectStackParams.BUILD_QUEUE_ARN), Ref(job_definition)]),
    ])
    # Only the execution id reaches the job (as parameter and variable): no token, no user string
    # (reference defects 2, 42). An unquoted placeholder is inserted JSON-encoded.
    field = names.BUILD_EXECUTION_FIELD
    job_input = {
        "Parameters": {field: "<execution>"},
        "ContainerOverrides": {"Environment": [{"Name": Env.EXECUTION_ID, "Value": "<execution>"}]},
    }
    t.add_resource(Rule(
        "BuildRule",
        Name=rule_name,
        Description=Sub(f"Starts a build of {PROJECT}"),
        EventBusName=Ref(ProjectStackParams.EVENT_BUS_NAME),
        EventPattern={
            "source": [names.EVENT_SOURCE],
            "detail-type": [Sub(names.build_detail_type(PROJECT))],
        },
        State="ENABLED",
        Targets=[Target(
            Id="build-queue",
            Arn=Ref(ProjectStackParams.BUILD_QUEUE_ARN),
            RoleArn=GetAtt(rule_role, "Arn"),
            BatchParameters=BatchParameters(JobDefinition=Ref(job_definition),
                                            JobName=Sub(n.job_definition(PROJECT))),
            InputTransformer=InputTransformer(
                InputPathsMap={"execution": f"$.detail.{field}"},
                InputTemplate=json.dumps(job_input).replace('"<execution>"', "<execution>"),
            ),
            RetryPolicy=RetryPolicy(MaximumRetryAttempts=8, MaximumEventAgeInSeconds=900),
            # A submission that keeps failing is kept, not lost (reference defect 41).
            DeadLetterConfig=DeadLetterConfig(Arn=Ref(ProjectStackParams.DEAD_LETTER_QUEUE_ARN)),
        )],
    ))


def _server(t: Template, config: PlatformConfig, groups: dict[str, LogGroup]) -> None:
    n = config.names
    # The function opens the configuration sealed into its code at start (web/adapter/files/config.js):
    # the data keys of this project's encryption context only (lambdas/shared/envelope.py).
    own_configuration = Condition(StringEquals(f"kms:EncryptionContext:{names.CONFIG_CONTEXT_KEY}",
                                               Ref(ProjectStackParams.PROJECT_NAME)))
    role = _project_role(t, config, "ServerFunctionRole", "lambda.amazonaws.com", [
        log_write(groups["server"]),
        allow(["kms:Decrypt"], [Ref(ProjectStackParams.CONFIG_KEY_ARN)], Condition=own_configuration),
    ])
    # Only published versions serve (through `live`); the placeholder code is just what $LATEST holds
    # until the first deployment replaces it.
    t.add_resource(Function(
        "ServerFunction",
        FunctionName=Sub(n.project_function(PROJECT)),
        Description=Sub(f"Server of {PROJECT}"),
        Runtime=config.node_runtime,
        Architectures=[config.architecture],
        Handler="index.handler",
        MemorySize=1024,
        Timeout=10,
        Code=Code(S3Bucket=Ref(ProjectStackParams.SERVER_CODE_BUCKET),
                  S3Key=Ref(ProjectStackParams.SERVER_CODE_KEY)),
        Role=GetAtt(role, "Arn"),
        LoggingConfig=LoggingConfig(LogGroup=Ref(groups["server"])),
        Tags=Tags(**{n.stack_tag: config.stack_name, n.project_tag: Ref(ProjectStackParams.PROJECT_NAME)}),
    ))


def build_project_template(config: PlatformConfig) -> Template:
    t = Template(Description=f"Battleshiper project ({config.stack_name})")
    t.set_version("2010-09-09")
    _add_parameters(t, config)
    groups = _log_groups(t, config)
    _build(t, config, groups)
    _server(t, config, groups)
    return t

