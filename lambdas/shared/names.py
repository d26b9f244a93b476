"""The one list of names.

Every physical name, header and key format of a Battleshiper installation is derived here from the
stack name, so two installations can live in one account and nothing spells a name twice. Templates,
Lambdas and the CLI import this module; it imports nothing of theirs (it ships inside every Lambda).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_STACK_NAME = "battleshiper"

# Stack names are short so that every derived name stays inside its AWS limit at the longest
# project name (see tests/lambdas/test_names.py, which checks each limit).
STACK_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$"
MAX_STACK_NAME = 20
# Project names are DNS labels; 32 keeps `<stack>-srv-<project>` (Lambda, 64) and every other
# derived name valid.
PROJECT_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
MAX_PROJECT_NAME = 32
RESERVED_PROJECT_NAMES = frozenset(
    {"www", "api", "admin", "dashboard", "app", "static", "assets", "cdn", "mail", "status", "error"}
)

# EventBridge.
EVENT_SOURCE = "battleshiper.pipeline"
INIT_DETAIL_TYPE = "battleshiper.init"
BUILD_DETAIL_TYPE_PREFIX = "battleshiper.build."
DELETE_DETAIL_TYPE = "battleshiper.delete"
BATCH_EVENT_SOURCE = "aws.batch"
BATCH_DETAIL_TYPE = "Batch Job State Change"

# HTTP headers set by the edge and trusted only behind the origin secret.
PROJECT_HEADER = "x-battleshiper-project"
DEPLOYMENT_HEADER = "x-battleshiper-deployment"
ORIGIN_SECRET_HEADER = "x-battleshiper-origin-secret"
FORWARDED_HOST_HEADER = "x-forwarded-host"
FORWARDED_PROTO_HEADER = "x-forwarded-proto"  # the router sets `https`: a viewer's value never passes
# Set by the edge when it rewrote the URI to a file of the deployment (`/<project>/<deployment><object>`).
PAGE_HEADER = "x-battleshiper-page"

# Cookies of the platform API. `__Host-` binds them to the dashboard host, Secure and Path=/ (defect 5).
SESSION_COOKIE = "__Host-battleshiper_session"
OAUTH_STATE_COOKIE = "__Host-battleshiper_oauth"  # OAuth state + PKCE verifier, signed, minutes long
ORIGIN_HEADER = "origin"

# Route-store (CloudFront KeyValueStore) key formats. Distinct prefixes keep the namespaces apart
# (reference defect 13: an alias could overwrite another project's page key).
ALIAS_KEY_PREFIX = "a:"  # a:<alias>                      -> <project>
LIVE_KEY_PREFIX = "l:"  # l:<project>                     -> <deployment-id>
PAGE_KEY_PREFIX = "p:"  # p:<project>/<deployment-id><path> -> <object path>

# Lambda aliases and artifact names.
LIVE_ALIAS = "live"
CODEDEPLOY_HOOK_PREFIX = "CodeDeployHook_"  # AWSCodeDeployRoleForLambda may only invoke these

# The GitHub App credentials secret (created by the operator) holds exactly these keys.
GITHUB_SECRET_KEYS = ("client_id", "client_secret", "app_id", "app_secret", "webhook_secret")

# Log kinds of a project.
PROJECT_LOG_KINDS = ("event", "build", "deploy", "server")
# The platform's own log groups, one per subsystem.
PLATFORM_LOG_KINDS = ("api", "dashboard", "router", "pipeline")

# Table names by role.
TABLES = ("users", "projects", "subscriptions", "deployments", "nonces")
# Secondary indexes and the expiry attribute (DynamoDB TTL) of short-lived items.
USERS_INSTALLATION_INDEX = "gsi_installation_id"  # users by GitHub App installation
PROJECTS_OWNER_INDEX = "gsi_owner_id"  # projects by owner
EXPIRY_ATTRIBUTE = "expires_at"  # unix seconds; nonces (ticket ids, webhook deliveries)

# Tag on every dashboard asset: the release (CodeDeploy deployment) that uploaded it.
DASHBOARD_DEPLOYMENT_TAG = "battleshiper:deployment"


def valid_stack_name(name: str) -> bool:
    return re.fullmatch(STACK_NAME_PATTERN, name) is not None and "--" not in name


def valid_project_name(name: str) -> bool:
    ok = re.fullmatch(PROJECT_NAME_PATTERN, name) is not None
    return ok and "--" not in name and name not in RESERVED_PROJECT_NAMES


DEPLOYMENT_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{6}$"  # `models.new_deployment_id`


def valid_deployment_id(deployment_id: str) -> bool:
    return re.fullmatch(DEPLOYMENT_ID_PATTERN, deployment_id) is not None


def alias_key(alias: str) -> str:
    return f"{ALIAS_KEY_PREFIX}{alias}"


def live_key(project: str) -> str:
    return f"{LIVE_KEY_PREFIX}{project}"


def page_key(project: str, deployment_id: str, path: str) -> str:
    """`path`: a route path (`lambdas.pipeline.route_paths`), a page's form or a file's exact path."""
    return f"{PAGE_KEY_PREFIX}{project}/{deployment_id}{path}"


def build_detail_type(project: str) -> str:
    return f"{BUILD_DETAIL_TYPE_PREFIX}{project}"


def deployment_prefix(project: str, deployment_id: str) -> str:
    """Where one deployment's static files live in the project bucket (and build output)."""
    return f"{project}/{deployment_id}/"


# Build job hand-over in the build asset bucket. The trigger writes the spec (clone URL, repo-scoped
# read-only token, branch, commit, commands, output directory); the job reads it and uploads the packed
# output directory. Only the execution id travels in events (reference defects 2, 42). The trigger also
# writes the sealed runtime configuration, which only the deploy reads: it goes into the server code as
# RUNTIME_CONFIG_FILE (web/adapter/files/config.js reads it there).
BUILD_SPEC_FILE = "build-spec.json"
BUILD_OUTPUT_FILE = "output.tar.gz"
RUNTIME_CONFIG_FILE = "battleshiper-env.json"
CONFIG_CONTEXT_KEY = "battleshiper:project"  # KMS encryption context of sealed configuration: the project
BUILD_EXECUTION_FIELD = "execution_id"  # detail field of the build event and Batch job parameter
# The unprivileged user the build job runs the user's commands as (`nobody` in Debian's images).
BUILD_USER = "65534:65534"


# What `@battleshiper/adapter` writes into the build output directory (web/adapter/index.js uses the same
# strings; a test checks): static files, prerendered HTML pages, the server function's zip (one ESM file,
# `index.mjs`, exporting `handler`) and a manifest mapping each page's request path to its object path
# (`{"version": 1, "pages": {"/docs": "/docs.html"}}`, the keys in `page_key`'s `path` form).
BUILD_CLIENT_DIR = "client"
BUILD_PRERENDERED_DIR = "prerendered"
BUILD_SERVER_ZIP = "server/handler.zip"
BUILD_MANIFEST_FILE = "battleshiper.json"
SERVER_HANDLER_FILE = "index.mjs"


def build_spec_key(project: str, execution_id: str) -> str:
    return f"{project}/{execution_id}/{BUILD_SPEC_FILE}"


def build_output_key(project: str, execution_id: str) -> str:
    return f"{project}/{execution_id}/{BUILD_OUTPUT_FILE}"


def runtime_config_key(project: str, execution_id: str) -> str:
    return f"{project}/{execution_id}/{RUNTIME_CONFIG_FILE}"


# Detail field of the ticketed pipeline events (init, delete) that carries the ticket.
TICKET_DETAIL_FIELD = "ticket"
# A deployment's server code when it is too big to hand to UpdateFunctionCode inline. Outside every
# `<project>/<deployment>/` prefix, so the edge (which always prefixes both) can never serve it.
SERVER_CODE_PREFIX = "_server/"


def server_code_key(project: str, deployment_id: str) -> str:
    return f"{SERVER_CODE_PREFIX}{project}/{deployment_id}/handler.zip"


def deployment_alias(deployment_id: str) -> str:
    """Lambda alias of one deployment's server version: the router can invoke the version that belongs
    to the deployment the edge resolved (`DEPLOYMENT_HEADER`), so pages and server switch together."""
    return f"d-{deployment_id}"


class ProjectStackParams:
    """Parameters of the per-project stack template (`lambdas.shared.project_stack` says who sets each)."""

    PROJECT_NAME = "ProjectName"
    BUILD_IMAGE = "BuildImage"
    EVENT_BUS_NAME = "EventBusName"
    BUILD_QUEUE_ARN = "BuildQueueArn"
    BUILD_BUCKET = "BuildBucket"
    BOUNDARY_ARN = "BoundaryArn"
    DEAD_LETTER_QUEUE_ARN = "DeadLetterQueueArn"
    SERVER_CODE_BUCKET = "ServerCodeBucket"  # the artifacts bucket
    SERVER_CODE_KEY = "ServerCodeKey"  # the `project-server` placeholder until the first deploy
    CONFIG_KEY_ARN = "ConfigKeyArn"  # the platform's KMS key: the server function opens its configuration


@dataclass(frozen=True)
class Names:
    """Names of one installation, all derived from its stack name."""

    stack: str = DEFAULT_STACK_NAME

    def __post_init__(self) -> None:
        if not valid_stack_name(self.stack):
            raise ValueError(
                f"invalid stack name {self.stack!r}: 3-{MAX_STACK_NAME} lowercase letters, digits and "
                "single hyphens, starting with a letter"
            )

    # DynamoDB
    def table(self, kind: str) -> str:
        if kind not in TABLES:
            raise KeyError(kind)
        return f"{self.stack}-{kind}"

    # Secrets Manager
    @property
    def session_key_secret(self) -> str:
        return f"{self.stack}/session-key"

    @property
    def ticket_key_secret(self) -> str:
        return f"{self.stack}/ticket-key"

    @property
    def origin_secret(self) -> str:
        return f"{self.stack}/origin-secret"

    @property
    def token_key_alias(self) -> str:
        """KMS alias of the key that encrypts GitHub tokens at rest."""
        return f"alias/{self.stack}-tokens"

    # CloudWatch Logs
    def platform_log_group(self, kind: str) -> str:
        if kind not in PLATFORM_LOG_KINDS:
            raise KeyError(kind)
        return f"/aws/lambda/{self.stack}-{kind}"

    @property
    def project_log_group_prefix(self) -> str:
        return f"/{self.stack}/project/"

    def project_log_group(self, project: str, kind: str) -> str:
        if kind not in PROJECT_LOG_KINDS:
            raise KeyError(kind)
        return f"{self.project_log_group_prefix}{project}/{kind}"

    # Lambda
    def function(self, role: str) -> str:
        return f"{self.stack}-{role}"

    def hook_function(self, role: str) -> str:
        return f"{CODEDEPLOY_HOOK_PREFIX}{self.stack}-{role}"

    @property
    def project_function_prefix(self) -> str:
        return f"{self.stack}-srv-"

    def project_function(self, project: str) -> str:
        return f"{self.project_function_prefix}{project}"

    # HTTP APIs
    @property
    def api(self) -> str:
        return f"{self.stack}-api"

    @property
    def router_api(self) -> str:
        return f"{self.stack}-router-api"

    # EventBridge
    @property
    def bus(self) -> str:
        return f"{self.stack}-pipeline"

    def rule(self, role: str) -> str:
        return f"{self.stack}-{role}"

    @property
    def project_build_rule_prefix(self) -> str:
        return f"{self.stack}-build-"

    def project_build_rule(self, project: str) -> str:
        return f"{self.project_build_rule_prefix}{project}"

    # Batch
    @property
    def compute_environment(self) -> str:
        return f"{self.stack}-build"

    @property
    def job_queue(self) -> str:
        return f"{self.stack}-build"

    @property
    def job_definition_prefix(self) -> str:
        return f"{self.stack}-build-"

    def job_definition(self, project: str) -> str:
        return f"{self.job_definition_prefix}{project}"

    # EC2
    @property
    def build_security_group(self) -> str:
        return f"{self.stack}-build-egress"

    # CloudFront (names are account-global: one stack name per account)
    def cloudfront(self, role: str) -> str:
        return f"{self.stack}-{role}"

    @property
    def route_store(self) -> str:
        return f"{self.stack}-routes"

    # CloudFormation
    @property
    def project_stack_prefix(self) -> str:
        return f"{self.stack}-project-"

    def project_stack(self, project: str) -> str:
        return f"{self.project_stack_prefix}{project}"

    def project_of_stack(self, stack_name: str) -> str | None:
        prefix = self.project_stack_prefix
        return stack_name[len(prefix) :] if stack_name.startswith(prefix) else None

    # IAM: project roles live under their own path, so the CloudFormation service role can be
    # limited to it (and to the permissions boundary).
    @property
    def project_role_path(self) -> str:
        return f"/{self.stack}-project/"

    @property
    def project_boundary_policy(self) -> str:
        return f"{self.stack}-project-boundary"

    # S3 (the stack generates bucket names; only the artifacts bucket, created before the stack, is named)
    def artifacts_bucket(self, account_id: str, region: str) -> str:
        return f"{self.stack}-artifacts-{account_id}-{region}"

    # Tags (class attributes, not fields: the same in every installation)
    stack_tag = "battleshiper:stack"
    project_tag = "battleshiper:project"
    template_hash_tag = "battleshiper:template-hash"


class Env:
    """Environment variable names the templates set and the Lambdas read."""

    STACK = "BATTLESHIPER_STACK"
    DOMAIN = "BATTLESHIPER_DOMAIN"
    USERS_TABLE = "USERS_TABLE"
    PROJECTS_TABLE = "PROJECTS_TABLE"
    SUBSCRIPTIONS_TABLE = "SUBSCRIPTIONS_TABLE"
    DEPLOYMENTS_TABLE = "DEPLOYMENTS_TABLE"
    NONCES_TABLE = "NONCES_TABLE"
    SESSION_KEY_SECRET_ARN = "SESSION_KEY_SECRET_ARN"
    TICKET_KEY_SECRET_ARN = "TICKET_KEY_SECRET_ARN"
    ORIGIN_SECRET_ARN = "ORIGIN_SECRET_ARN"
    ORIGIN_SECRET = "BATTLESHIPER_ORIGIN_SECRET"  # its value, for the dashboard's Node.js function
    GITHUB_SECRET_ARN = "GITHUB_SECRET_ARN"
    TOKEN_KEY_ARN = "TOKEN_KEY_ARN"
    ADMIN_GITHUB_ID = "ADMIN_GITHUB_ID"  # numeric GitHub user id of the first manager
    EVENT_BUS = "EVENT_BUS"
    ROUTE_STORE_ARN = "ROUTE_STORE_ARN"
    PROJECT_BUCKET = "PROJECT_BUCKET"
    BUILD_BUCKET = "BUILD_BUCKET"
    DASHBOARD_BUCKET = "DASHBOARD_BUCKET"
    ARTIFACTS_BUCKET = "ARTIFACTS_BUCKET"
    PROJECT_TEMPLATE_KEY = "PROJECT_TEMPLATE_KEY"
    DASHBOARD_ASSETS_KEY = "DASHBOARD_ASSETS_KEY"
    BUILD_QUEUE_ARN = "BUILD_QUEUE_ARN"
    PROJECT_STACK_ROLE_ARN = "PROJECT_STACK_ROLE_ARN"
    PROJECT_BOUNDARY_ARN = "PROJECT_BOUNDARY_ARN"
    PROJECT_DISTRIBUTION_ID = "PROJECT_DISTRIBUTION_ID"
    PROJECT_FUNCTION_PREFIX = "PROJECT_FUNCTION_PREFIX"
    KEEP_DEPLOYMENTS = "KEEP_DEPLOYMENTS"
    LOG_RETENTION_DAYS = "LOG_RETENTION_DAYS"
    PLATFORM_LOG_GROUPS = "PLATFORM_LOG_GROUPS"  # comma-separated, for the admin log viewer
    PROJECT_TEMPLATE_HASH = "PROJECT_TEMPLATE_HASH"
    PROJECT_SERVER_KEY = "PROJECT_SERVER_KEY"  # placeholder server code a new project stack starts with
    PIPELINE_DLQ_ARN = "PIPELINE_DLQ_ARN"
    BUILD_IMAGE = "BUILD_IMAGE"  # the build job's container image, a project stack parameter
    # GitHub endpoints (default github.com / api.github.com); tests and the local platform point
    # them at a stand-in.
    GITHUB_URL = "GITHUB_URL"
    GITHUB_API_URL = "GITHUB_API_URL"
    # Read by the build job (set by its job definition; EXECUTION_ID per job by the build rule).
    PROJECT = "PROJECT"
    EXECUTION_ID = "EXECUTION_ID"
    S3_ENDPOINT = "S3_ENDPOINT"
    BUILD_TIMEOUT_SECONDS = "BUILD_TIMEOUT_SECONDS"
    BUILD_USER = "BUILD_USER"  # uid:gid the user's install and build commands run as


# Which environment variable carries which table's name: the templates set them on the functions,
# `Store` reads them, the CLI and tests build the same environment from `Names.table`.
TABLE_ENV = {
    "users": Env.USERS_TABLE,
    "projects": Env.PROJECTS_TABLE,
    "subscriptions": Env.SUBSCRIPTIONS_TABLE,
    "deployments": Env.DEPLOYMENTS_TABLE,
    "nonces": Env.NONCES_TABLE,
}


def table_env(n: Names) -> dict[str, str]:
    """The table environment of an installation, by variable."""
    return {variable: n.table(kind) for kind, variable in TABLE_ENV.items()}
