"""The platform stack: parameters, the shared dependency layer, the three subsystems, outputs."""

from __future__ import annotations

from troposphere import Output, Parameter, Ref, Template
from troposphere.awslambda import Content, LayerVersion

from templates import edge, ids, internal, pipeline
from templates.common import (
    PARAM_ADMIN,
    PARAM_ARTIFACTS_BUCKET,
    PARAM_BUILD_ZONES,
    PARAM_CERTIFICATE,
    PARAM_DOMAIN,
    PARAM_GITHUB_SECRET,
    PARAM_WILDCARD_CERTIFICATE,
    add_parameter,
)
from templates.config import PlatformConfig

DOMAIN_PATTERN = r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
US_EAST_1_CERTIFICATE_PATTERN = r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$"
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
GITHUB_USER_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
ZONE_NAME_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$"  # e.g. us-east-1a, ap-northeast-1c


def add_parameters(t: Template) -> None:
    add_parameter(
        t,
        PARAM_DOMAIN,
        "Domain of the platform, e.g. ship.example.com (no scheme, no trailing dot)",
        DOMAIN_PATTERN,
        "a lowercase host name such as ship.example.com",
    )
    add_parameter(
        t,
        PARAM_CERTIFICATE,
        "ACM certificate (us-east-1) for the domain",
        US_EAST_1_CERTIFICATE_PATTERN,
        "an ACM certificate ARN in us-east-1",
    )
    add_parameter(
        t,
        PARAM_WILDCARD_CERTIFICATE,
        "ACM certificate (us-east-1) for *.<domain>",
        US_EAST_1_CERTIFICATE_PATTERN,
        "an ACM certificate ARN in us-east-1",
    )
    add_parameter(
        t,
        PARAM_GITHUB_SECRET,
        "Secrets Manager secret with the GitHub App credentials "
        "(client_id, client_secret, app_id, app_secret, webhook_secret)",
        SECRET_ARN_PATTERN,
        "a Secrets Manager secret ARN",
    )
    add_parameter(
        t,
        PARAM_ADMIN,
        "GitHub user name that becomes the platform's first manager",
        GITHUB_USER_PATTERN,
        "a GitHub user name",
    )
    add_parameter(
        t,
        PARAM_ARTIFACTS_BUCKET,
        "Bucket holding the packaged artifacts (created by setup)",
        BUCKET_PATTERN,
        "an S3 bucket name",
    )
    # A list parameter's AllowedPattern applies to each element.
    t.add_parameter(
        Parameter(
            PARAM_BUILD_ZONES,
            Type="CommaDelimitedList",
            Description="Two or three availability zones (names) for the build subnets, all offering "
            "Fargate (chosen by setup)",
            AllowedPattern=ZONE_NAME_PATTERN,
            ConstraintDescription="availability zone names such as eu-central-1a,eu-central-1b",
        )
    )


def add_dependency_layer(t: Template, config: PlatformConfig) -> None:
    t.add_resource(
        LayerVersion(
            ids.DEPENDENCY_LAYER,
            LayerName=f"{config.stack_name}-dependencies",
            Description="Python dependencies of the platform functions",
            CompatibleRuntimes=[config.python_runtime],
            CompatibleArchitectures=[config.architecture],
            Content=Content(S3Bucket=Ref(PARAM_ARTIFACTS_BUCKET), S3Key=config.artifact("layer").key),
        )
    )


def build_platform_template(config: PlatformConfig) -> Template:
    t = Template(Description=f"Battleshiper platform ({config.stack_name})")
    t.set_version("2010-09-09")
    add_parameters(t)
    add_dependency_layer(t, config)
    internal.add(t, config)
    edge.add(t, config)
    pipeline.add(t, config)
    t.add_output(Output(ids.OUTPUT_ARTIFACTS_BUCKET, Value=Ref(PARAM_ARTIFACTS_BUCKET)))
    t.add_output(Output(ids.OUTPUT_PROJECT_TEMPLATE_KEY, Value=config.artifact("project-template").key))
    t.add_output(Output(ids.OUTPUT_PROJECT_TEMPLATE_HASH, Value=config.artifact("project-template").sha256))
    return t
