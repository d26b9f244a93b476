"""The platform stack's parameters, declared once: the template's Parameters, the setup and update
options (`battleshiper_cli.parameter_options`) and preflight's pattern checks are derived from here."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Parameter, Template

PARAM_DOMAIN = "Domain"
PARAM_CERTIFICATE = "CertificateArn"
PARAM_WILDCARD_CERTIFICATE = "WildcardCertificateArn"
PARAM_GITHUB_SECRET = "GitHubSecretArn"
PARAM_ADMIN = "AdminGitHubUser"
PARAM_ARTIFACTS_BUCKET = "ArtifactsBucket"
PARAM_BUILD_ZONES = "BuildSubnetZones"
PARAM_API_THROTTLE_RATE = "ApiThrottleRate"
PARAM_API_THROTTLE_BURST = "ApiThrottleBurst"
PARAM_PROJECT_THROTTLE_RATE = "ProjectThrottleRate"
PARAM_PROJECT_THROTTLE_BURST = "ProjectThrottleBurst"

DOMAIN_PATTERN = r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
US_EAST_1_CERTIFICATE_PATTERN = r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$"
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
GITHUB_USER_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$"
GITHUB_USER_ID_PATTERN = r"^[1-9][0-9]{0,19}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
ZONE_NAME_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$"  # e.g. us-east-1a, ap-northeast-1c
# 1 to 10000: API Gateway's default account quota is 10,000 requests per second (burst 5,000), shared by
# both HTTP APIs of the installation and every other API of the account and region.
THROTTLE_PATTERN = r"^(10000|[1-9][0-9]{0,3})$"


@dataclass(frozen=True)
class Operator:
    """How the operator gives a parameter: `--<field with dashes>` of setup (required) and update
    (optional: the stack's current value is kept), and the preflight check of its pattern."""

    field: str  # of `battleshiper_cli.preflight.Parameters`
    check: str  # preflight check name
    setup_help: str
    update_help: str
    # What the option takes, when the CLI turns it into the parameter's value (the admin's login,
    # resolved to its numeric id): its pattern and constraint; None: the parameter's own.
    pattern: str | None = None
    constraint: str | None = None
    default: str | None = None  # setup: optional with this value (else required); also the template's

    @property
    def option(self) -> str:
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class PlatformParameter:
    name: str
    description: str
    pattern: str  # for a list, of each element
    constraint: str  # what a value must be; preflight says "<value> is not <constraint>"
    type: str = "String"
    operator: Operator | None = None  # None: the CLI sets it itself

    @property
    def default(self) -> str | None:
        return self.operator.default if self.operator else None


PLATFORM_API = "the platform API (sign-in, dashboard, webhook)"
ROUTER_API = "the router in front of every project's server function"


def _throttle(name: str, field: str, what: str, api: str, kind: str, default: str) -> PlatformParameter:
    unit = "requests per second" if kind == "rate" else "requests at once"
    return PlatformParameter(
        name,
        f"Throttling {kind} of the {api} HTTP API's stage ({unit})",
        THROTTLE_PATTERN,
        "a whole number from 1 to 10000",
        operator=Operator(
            field,
            f"{api} throttling {kind}",
            f"Throttling {kind} of {what}, {unit} (API Gateway answers 429 above it).",
            f"New throttling {kind} of {what}.",
            default=default,
        ),
    )


PLATFORM_PARAMETERS = (
    PlatformParameter(
        PARAM_DOMAIN,
        "Domain of the platform, e.g. ship.example.com (no scheme, no trailing dot)",
        DOMAIN_PATTERN,
        "a lowercase host name such as ship.example.com",
        operator=Operator(
            "domain",
            "domain",
            "Host name of the platform, e.g. ship.example.com; projects live at <project>.<domain>.",
            "New domain (default: keep the current one).",
        ),
    ),
    PlatformParameter(
        PARAM_CERTIFICATE,
        "ACM certificate (us-east-1) for the domain",
        US_EAST_1_CERTIFICATE_PATTERN,
        "an ACM certificate ARN in us-east-1",
        operator=Operator(
            "certificate_arn",
            "certificate ARN",
            "ACM certificate in us-east-1 for <domain> (status ISSUED).",
            "New us-east-1 certificate for <domain>.",
        ),
    ),
    PlatformParameter(
        PARAM_WILDCARD_CERTIFICATE,
        "ACM certificate (us-east-1) for *.<domain>",
        US_EAST_1_CERTIFICATE_PATTERN,
        "an ACM certificate ARN in us-east-1",
        operator=Operator(
            "wildcard_certificate_arn",
            "wildcard certificate ARN",
            "ACM certificate in us-east-1 for *.<domain>.",
            "New us-east-1 certificate for *.<domain>.",
        ),
    ),
    PlatformParameter(
        PARAM_GITHUB_SECRET,
        "Secrets Manager secret with the GitHub App credentials "
        "(client_id, client_secret, app_id, app_secret, webhook_secret)",
        SECRET_ARN_PATTERN,
        "a Secrets Manager secret ARN",
        operator=Operator(
            "github_secret_arn",
            "GitHub secret ARN",
            "Secrets Manager secret with the GitHub App's client_id, client_secret, app_id, "
            "app_secret (PEM) and webhook_secret.",
            "New GitHub App secret.",
        ),
    ),
    # A numeric id, never the login: logins can be renamed and re-claimed by someone else.
    PlatformParameter(
        PARAM_ADMIN,
        "Numeric GitHub user id of the platform's first manager (setup resolves --admin's login to it)",
        GITHUB_USER_ID_PATTERN,
        "a numeric GitHub user id",
        operator=Operator(
            "admin",
            "admin GitHub user",
            "GitHub login of the first manager. Resolved once, now, to its numeric user id (GitHub's "
            "public GET /users/{login}); the platform binds the role to that id, so a later rename or "
            "re-claimed login grants nothing.",
            "New first manager's GitHub login, resolved to its numeric user id (default: keep the "
            "current id).",
            GITHUB_USER_PATTERN,
            "a GitHub user name",
        ),
    ),
    # Stage throttling keeps one API from taking the account's API Gateway quota from the other: a flood
    # of project traffic cannot throttle sign-in and the dashboard's API, and the reverse. Per project,
    # the bound is its server function's reserved concurrency (the subscription's function_concurrency).
    _throttle(PARAM_API_THROTTLE_RATE, "api_throttle_rate", PLATFORM_API, "platform", "rate", "500"),
    _throttle(PARAM_API_THROTTLE_BURST, "api_throttle_burst", PLATFORM_API, "platform", "burst", "250"),
    _throttle(PARAM_PROJECT_THROTTLE_RATE, "project_throttle_rate", ROUTER_API, "router", "rate", "4000"),
    _throttle(PARAM_PROJECT_THROTTLE_BURST, "project_throttle_burst", ROUTER_API, "router", "burst", "2000"),
    PlatformParameter(
        PARAM_ARTIFACTS_BUCKET,
        "Bucket holding the packaged artifacts (created by setup)",
        BUCKET_PATTERN,
        "an S3 bucket name",
    ),
    PlatformParameter(
        PARAM_BUILD_ZONES,
        "Two or three availability zones (names) for the build subnets, all offering Fargate "
        "(chosen by setup)",
        ZONE_NAME_PATTERN,
        "availability zone names such as eu-central-1a,eu-central-1b",
        type="CommaDelimitedList",
    ),
)
# The ones the operator gives, in option order, with how they are given.
OPERATOR_PARAMETERS: tuple[tuple[PlatformParameter, Operator], ...] = tuple(
    (p, o) for p in PLATFORM_PARAMETERS if (o := p.operator) is not None
)


def add_parameters(t: Template) -> None:
    for p in PLATFORM_PARAMETERS:
        extra = {"Default": p.default} if p.default is not None else {}
        t.add_parameter(
            Parameter(
                p.name,
                Type=p.type,
                Description=p.description,
                AllowedPattern=p.pattern,
                ConstraintDescription=p.constraint,
                **extra,
            )
        )
