"""The internal subsystem: data (tables, secrets, token key, platform log groups), the platform API
behind one HTTP API, and the dashboard (bucket + distribution, server function released through
CodeDeploy with pre/post-traffic hooks that publish and prune its static files)."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Output, Ref, Sub, Tags, Template
from troposphere.apigatewayv2 import Api, Integration, Route, Stage
from troposphere.awslambda import Alias, Function, Permission
from troposphere.cloudfront import (
    CacheBehavior,
    CacheCookiesConfig,
    CacheHeadersConfig,
    CachePolicy,
    CachePolicyConfig,
    CacheQueryStringsConfig,
    CustomOriginConfig,
    DefaultCacheBehavior,
    Distribution,
    DistributionConfig,
    Origin,
    OriginCustomHeader,
    OriginRequestCookiesConfig,
    OriginRequestHeadersConfig,
    OriginRequestPolicy,
    OriginRequestPolicyConfig,
    OriginRequestQueryStringsConfig,
    ParametersInCacheKeyAndForwardedToOrigin,
    S3OriginConfig,
    ViewerCertificate,
)
from troposphere.codedeploy import (
    Application,
    AutoRollbackConfiguration,
    DeploymentGroup,
    DeploymentStyle,
)
from troposphere.dynamodb import (
    AttributeDefinition,
    GlobalSecondaryIndex,
    KeySchema,
    PointInTimeRecoverySpecification,
    Projection,
    Table,
    TimeToLiveSpecification,
)
from troposphere.kms import Alias as KeyAlias
from troposphere.kms import Key
from troposphere.logs import LogGroup
from troposphere.policies import CodeDeployLambdaAliasUpdate, UpdatePolicy
from troposphere.s3 import (
    Bucket,
)
from troposphere.secretsmanager import GenerateSecretString, Secret

from lambdas.shared.names import (
    BUILD_SPEC_FILE,
    EVENT_SOURCE,
    EXPIRY_ATTRIBUTE,
    LIVE_ALIAS,
    ORIGIN_SECRET_HEADER,
    PLATFORM_LOG_KINDS,
    PROJECTS_OWNER_INDEX,
    USERS_INSTALLATION_INDEX,
    Env,
)
from templates import ids
from templates.common import (
    ACCOUNT,
    PARAM_ADMIN,
    PARAM_ARTIFACTS_BUCKET,
    PARAM_CERTIFICATE,
    PARAM_DOMAIN,
    PARAM_GITHUB_SECRET,
    PARTITION,
    REGION,
    ROUTE_STORE_ACCESS,
    TABLE_READ,
    TABLE_SCAN,
    TABLE_WRITE,
    URL_SUFFIX,
    FunctionSpec,
    allow,
    arn,
    log_group,
    python_function,
    service_role,
)
from templates.config import PlatformConfig
from templates.storage import cloudfront_readable, origin_access_control, private_bucket
from templates.versions import published_version

# Paths the dashboard CDN serves from its bucket; everything else goes to the API (and from there to
# the server function). Known prefixes, not "any path with a dot" (reference defect 58). `/` is the
# prerendered landing page (the distribution's default root object).
DASHBOARD_STATIC_PATHS = ("/", "/_app/*", "/favicon.*", "/robots.txt")
API_ROUTES = ("auth", "user", "resource", "admin", "pipeline")  # ANY /api/<prefix>/{proxy+}

LOG_GROUP_IDS = {
    "api": ids.API_LOG_GROUP,
    "dashboard": ids.DASHBOARD_LOG_GROUP,
    "router": ids.ROUTER_LOG_GROUP,
    "pipeline": ids.PIPELINE_LOG_GROUP,
}
TABLE_IDS = {
    "users": ids.USERS_TABLE,
    "projects": ids.PROJECTS_TABLE,
    "subscriptions": ids.SUBSCRIPTIONS_TABLE,
    "deployments": ids.DEPLOYMENTS_TABLE,
    "nonces": ids.NONCES_TABLE,
}
TABLE_ENV = {
    "users": Env.USERS_TABLE,
    "projects": Env.PROJECTS_TABLE,
    "subscriptions": Env.SUBSCRIPTIONS_TABLE,
    "deployments": Env.DEPLOYMENTS_TABLE,
    "nonces": Env.NONCES_TABLE,
}

# CloudFront's managed "all methods" list, for behaviours that reach the API.
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]

S3_ORIGIN = "dashboard-bucket"
API_ORIGIN = "dashboard-api"


def add(t: Template, config: PlatformConfig) -> None:
    add_tables(t, config)
    add_secrets(t, config)
    add_token_key(t, config)
    groups = add_log_groups(t, config)
    api_functions = add_api_functions(t, config, groups)
    bucket = add_dashboard_bucket(t, config)
    hooks = add_hook_functions(t, config, groups["dashboard"], bucket)
    alias = add_dashboard_function(t, config, groups["dashboard"], hooks)
    add_http_api(t, config, api_functions, alias)
    add_dashboard_cdn(t, config, bucket)


# --- data ------------------------------------------------------------------------------------------


def _table(
    t: Template,
    config: PlatformConfig,
    kind: str,
    keys: list[tuple[str, str, str]],
    index: tuple[str, str, str] | None = None,
    *,
    retain: bool,
    ttl: bool = False,
) -> Table:
    """`keys`: (attribute, type, HASH|RANGE); `index`: (index name, attribute, type)."""
    attributes = {name: kind_ for name, kind_, _ in keys}
    props: dict[str, object] = {
        "TableName": config.names.table(kind),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [KeySchema(AttributeName=name, KeyType=role) for name, _, role in keys],
        "PointInTimeRecoverySpecification": PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        "Tags": Tags(**{config.names.stack_tag: config.stack_name}),
    }
    if index:
        index_name, attribute, attribute_type = index
        attributes[attribute] = attribute_type
        props["GlobalSecondaryIndexes"] = [
            GlobalSecondaryIndex(
                IndexName=index_name,
                KeySchema=[KeySchema(AttributeName=attribute, KeyType="HASH")],
                Projection=Projection(ProjectionType="ALL"),
            )
        ]
    props["AttributeDefinitions"] = [
        AttributeDefinition(AttributeName=n, AttributeType=k) for n, k in attributes.items()
    ]
    if ttl:
        props["TimeToLiveSpecification"] = TimeToLiveSpecification(
            AttributeName=EXPIRY_ATTRIBUTE, Enabled=True
        )
    if retain:  # user data outlives the stack (reference defect 21)
        props["DeletionPolicy"] = props["UpdateReplacePolicy"] = "Retain"
    return t.add_resource(Table(TABLE_IDS[kind], **props))


def add_tables(t: Template, config: PlatformConfig) -> None:
    _table(
        t,
        config,
        "users",
        [("id", "S", "HASH")],
        (USERS_INSTALLATION_INDEX, "installation_id", "N"),
        retain=True,
    )
    _table(
        t,
        config,
        "projects",
        [("name", "S", "HASH")],
        (PROJECTS_OWNER_INDEX, "owner_id", "S"),
        retain=True,
    )
    _table(t, config, "subscriptions", [("id", "S", "HASH")], retain=True)
    _table(
        t,
        config,
        "deployments",
        [("project_name", "S", "HASH"), ("deployment_id", "S", "RANGE")],
        retain=True,
    )
    # Ticket ids and webhook delivery ids, kept until they could no longer be replayed.
    _table(t, config, "nonces", [("id", "S", "HASH")], retain=False, ttl=True)


def add_secrets(t: Template, config: PlatformConfig) -> None:
    for logical_id, name, purpose in (
        (ids.SESSION_KEY_SECRET, config.names.session_key_secret, "signs session tokens"),
        (ids.TICKET_KEY_SECRET, config.names.ticket_key_secret, "signs pipeline tickets"),
    ):
        t.add_resource(
            Secret(
                logical_id,
                Name=name,
                Description=f"Battleshiper ({config.stack_name}): key that {purpose}",
                GenerateSecretString=GenerateSecretString(
                    SecretStringTemplate="{}",
                    GenerateStringKey="secret",
                    PasswordLength=64,
                    ExcludePunctuation=True,
                ),
                Tags=Tags(**{config.names.stack_tag: config.stack_name}),
            )
        )


def add_token_key(t: Template, config: PlatformConfig) -> None:
    """The key that encrypts GitHub tokens at rest. The key policy only delegates to IAM (the account
    root); functions get Encrypt/Decrypt through their role policies, which avoids a cycle between
    the key policy and the roles."""
    root = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:root")
    t.add_resource(
        Key(
            ids.TOKEN_KEY,
            Description=f"Battleshiper ({config.stack_name}): GitHub tokens at rest",
            EnableKeyRotation=True,
            KeyPolicy=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="AccountAdministers",
                        Effect=Allow,
                        Principal=Principal("AWS", [root]),
                        Action=[AwacsAction("kms", "*")],
                        Resource=["*"],
                    )
                ],
            ),
            Tags=Tags(**{config.names.stack_tag: config.stack_name}),
        )
    )
    t.add_resource(
        KeyAlias("TokenKeyAlias", AliasName=config.names.token_key_alias, TargetKeyId=Ref(ids.TOKEN_KEY))
    )


def add_log_groups(t: Template, config: PlatformConfig) -> dict[str, LogGroup]:
    return {
        kind: log_group(
            t, LOG_GROUP_IDS[kind], config.names.platform_log_group(kind), config.log_retention_days
        )
        for kind in PLATFORM_LOG_KINDS
    }


# --- API functions ---------------------------------------------------------------------------------


def _table_arns(kind: str) -> list[object]:
    """The table and its indexes."""
    table = GetAtt(TABLE_IDS[kind], "Arn")
    return [table, Join("/", [table, "index", "*"])]


def _reads(*kinds: str) -> Statement:
    return allow(TABLE_READ, [a for k in kinds for a in _table_arns(k)])


def _writes(*kinds: str) -> Statement:
    return allow(TABLE_WRITE, [GetAtt(TABLE_IDS[k], "Arn") for k in kinds])  # indexes are read-only


def _secret(*logical_ids: str) -> Statement:
    return allow(["secretsmanager:GetSecretValue"], [Ref(i) for i in logical_ids])


def _github_secret() -> Statement:
    return allow(["secretsmanager:GetSecretValue"], [Ref(PARAM_GITHUB_SECRET)])


def _put_events() -> Statement:
    # Only the platform's own event source: an API function cannot forge other senders' events.
    return allow(
        ["events:PutEvents"],
        [GetAtt(ids.EVENT_BUS, "Arn")],
        Condition=Condition(StringEquals("events:source", [EVENT_SOURCE])),
    )


def _project_log_groups(config: PlatformConfig, suffix: str = "*") -> Sub:
    return arn("logs", f"log-group:{config.names.project_log_group_prefix}{suffix}")


def _project_event_log_write(config: PlatformConfig) -> Statement:
    """Writing the projects' event logs (build triggers are recorded there)."""
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], [_project_log_groups(config, "*/event:*")])


@dataclass(frozen=True)
class ApiFunction:
    role: str  # function name: <stack>-<role>
    module: str  # lambdas.api.<module>.handler
    route: str  # /api/<route>/{proxy+}
    tables: dict[str, str]  # kind -> "r" | "rw"
    secrets: tuple[str, ...] = ()
    github: bool = False


API_FUNCTIONS = (
    # nonces: the one-time claim that makes the administrator bootstrap happen once (lambdas/api/auth.py).
    ApiFunction(
        "api-auth", "auth", "auth", {"users": "rw", "nonces": "rw"}, (ids.SESSION_KEY_SECRET,), github=True
    ),
    # Users register at sign-in (auth); the user function only reads.
    ApiFunction("api-user", "user", "user", {"users": "r", "subscriptions": "r"}, (ids.SESSION_KEY_SECRET,)),
    ApiFunction(
        "api-resource",
        "resource",
        "resource",
        # deployments rw: builds and rollbacks write deployment records (lambdas/shared/builds, releases)
        {"users": "rw", "projects": "rw", "subscriptions": "r", "deployments": "rw"},
        (ids.SESSION_KEY_SECRET, ids.TICKET_KEY_SECRET),
        github=True,
    ),
    ApiFunction(
        "api-admin",
        "admin",
        "admin",
        {"users": "rw", "projects": "rw", "subscriptions": "rw"},
        (ids.SESSION_KEY_SECRET, ids.TICKET_KEY_SECRET),  # ticket key: delete requests
    ),
    # GitHub App webhook: no session key (it never sees a user session, reference defect 17), no ticket
    # key (it sends no init or delete request, and with the key it could forge one).
    ApiFunction(
        "api-webhook",
        "webhook",
        "pipeline",
        {"users": "rw", "projects": "rw", "subscriptions": "r", "nonces": "rw", "deployments": "rw"},
        github=True,
    ),
)


def _extra_rights(config: PlatformConfig, fn: ApiFunction) -> list[Statement]:
    """What a function needs beyond tables and secrets."""
    platform_groups = [
        arn("logs", f"log-group:{config.names.platform_log_group(k)}:*") for k in PLATFORM_LOG_KINDS
    ]
    if fn.module == "auth":
        return [allow(["kms:Encrypt", "kms:Decrypt"], [GetAtt(ids.TOKEN_KEY, "Arn")])]
    if fn.module == "resource":
        return [
            _put_events(),
            allow(ROUTE_STORE_ACCESS, [GetAtt(ids.ROUTE_STORE, "Arn")]),
            # fetchlog reads with FilterLogEvents (bounded window, no Logs Insights queries left running).
            allow(["logs:FilterLogEvents"], [_project_log_groups(config)]),
            _project_event_log_write(config),
            *_build_trigger_rights(),
            *_rollback_rights(config),
        ]
    if fn.module == "admin":
        # Listing every user (role managers) and every subscription: the only scans of the platform.
        scanned = [GetAtt(TABLE_IDS[k], "Arn") for k in ("users", "subscriptions")]
        return [_put_events(), allow(["logs:FilterLogEvents"], platform_groups), allow(TABLE_SCAN, scanned)]
    if fn.module == "webhook":
        return [_put_events(), _project_event_log_write(config), *_build_trigger_rights()]
    return []


def _build_trigger_rights() -> list[Statement]:
    """Starting a build (lambdas/shared/builds.py): write the build spec, nothing else in the bucket."""
    return [allow(["s3:PutObject"], [Sub(f"arn:{PARTITION}:s3:::${{Bucket}}/*/{BUILD_SPEC_FILE}",
                                         Bucket=Ref(ids.BUILD_BUCKET))])]


def _rollback_rights(config: PlatformConfig) -> list[Statement]:
    """Rollback (lambdas/shared/releases.py) moves the `live` alias of a project's server function, or
    creates it (and removes it again on failure) when nothing went live before."""
    return [allow(["lambda:GetAlias", "lambda:UpdateAlias", "lambda:CreateAlias", "lambda:DeleteAlias"],
                  [arn("lambda", f"function:{config.names.project_function_prefix}*"),
                   arn("lambda", f"function:{config.names.project_function_prefix}*:{LIVE_ALIAS}")])]


def _environment(config: PlatformConfig, fn: ApiFunction) -> dict[str, object]:
    env: dict[str, object] = {
        Env.DOMAIN: Ref(PARAM_DOMAIN),
        Env.ORIGIN_SECRET_ARN: Ref(ids.ORIGIN_SECRET),
        **{TABLE_ENV[kind]: Ref(TABLE_IDS[kind]) for kind in fn.tables},
    }
    secret_env = {
        ids.SESSION_KEY_SECRET: Env.SESSION_KEY_SECRET_ARN,
        ids.TICKET_KEY_SECRET: Env.TICKET_KEY_SECRET_ARN,
    }
    env.update({secret_env[s]: Ref(s) for s in fn.secrets})
    if fn.github:
        env[Env.GITHUB_SECRET_ARN] = Ref(PARAM_GITHUB_SECRET)
    if fn.module == "auth":  # registration (at sign-in) decides who becomes the first manager
        env[Env.ADMIN_GITHUB_USER] = Ref(PARAM_ADMIN)
    if fn.module == "auth":
        env[Env.TOKEN_KEY_ARN] = GetAtt(ids.TOKEN_KEY, "Arn")
    if fn.module in ("resource", "admin", "webhook"):
        env[Env.EVENT_BUS] = Ref(ids.EVENT_BUS)
    if fn.module == "resource":
        env[Env.ROUTE_STORE_ARN] = GetAtt(ids.ROUTE_STORE, "Arn")
    if fn.module in ("resource", "webhook"):  # build triggers write the build spec there
        env[Env.BUILD_BUCKET] = Ref(ids.BUILD_BUCKET)
    if fn.module == "admin":
        env[Env.PLATFORM_LOG_GROUPS] = ",".join(
            config.names.platform_log_group(k) for k in PLATFORM_LOG_KINDS
        )
    return env


def add_api_functions(
    t: Template, config: PlatformConfig, groups: dict[str, LogGroup]
) -> dict[str, Function]:
    """One function per API prefix, keyed by route."""
    functions: dict[str, Function] = {}
    for fn in API_FUNCTIONS:
        # The webhook is called by GitHub and checks its HMAC signature, not the origin secret.
        read = fn.secrets if fn.module == "webhook" else (ids.ORIGIN_SECRET, *fn.secrets)
        statements = [_reads(*fn.tables), *([_secret(*read)] if read else [])]
        written = [kind for kind, access in fn.tables.items() if access == "rw"]
        if written:
            statements.append(_writes(*written))
        if fn.github:
            statements.append(_github_secret())
        statements += _extra_rights(config, fn)
        function, _ = python_function(
            t,
            config,
            FunctionSpec(
                logical_id=f"Api{fn.module.capitalize()}Function",
                name=config.names.function(fn.role),
                handler=f"lambdas.api.{fn.module}.handler",
                artifact="api",
                log_group=groups["api"],
                statements=statements,
                environment=_environment(config, fn),
                timeout=15,
            ),
        )
        functions[fn.route] = function
    return functions


# --- HTTP API --------------------------------------------------------------------------------------


def _route(t: Template, logical_id: str, route_key: str, target: object, source_path: str) -> None:
    """Route -> Lambda proxy integration (payload 2.0) -> permission scoped to this route's path."""
    integration = t.add_resource(
        Integration(
            f"{logical_id}Integration",
            ApiId=Ref(ids.API),
            IntegrationType="AWS_PROXY",
            IntegrationUri=target,
            PayloadFormatVersion="2.0",
        )
    )
    t.add_resource(
        Route(
            f"{logical_id}Route",
            ApiId=Ref(ids.API),
            RouteKey=route_key,
            Target=Join("/", ["integrations", Ref(integration)]),
        )
    )
    t.add_resource(
        Permission(
            f"{logical_id}Permission",
            Action="lambda:InvokeFunction",
            FunctionName=target,
            Principal="apigateway.amazonaws.com",
            SourceArn=arn("execute-api", f"${{{ids.API}}}/*/*{source_path}"),
        )
    )


def add_http_api(
    t: Template, config: PlatformConfig, functions: dict[str, Function], dashboard: Alias
) -> None:
    t.add_resource(
        Api(
            ids.API,
            Name=config.names.api,
            ProtocolType="HTTP",
            Tags={config.names.stack_tag: config.stack_name},
        )
    )
    t.add_resource(Stage("ApiDefaultStage", ApiId=Ref(ids.API), StageName="$default", AutoDeploy=True))
    for route in API_ROUTES:
        _route(
            t,
            f"Api{route.capitalize()}",
            f"ANY /api/{route}/{{proxy+}}",
            GetAtt(functions[route], "Arn"),
            f"/api/{route}/*",
        )
    # The dashboard's server answers every other path, through its `live` alias.
    _route(t, "DashboardProxy", "ANY /{proxy+}", Ref(dashboard), "/*")
    _route(t, "DashboardRoot", "ANY /", Ref(dashboard), "/")


# --- dashboard: bucket, server function, release hooks ---------------------------------------------


def add_dashboard_bucket(t: Template, config: PlatformConfig) -> Bucket:
    bucket = private_bucket(t, ids.DASHBOARD_BUCKET, config)
    cloudfront_readable(t, bucket, ids.DASHBOARD_DISTRIBUTION)
    return bucket


def add_hook_functions(
    t: Template, config: PlatformConfig, group: LogGroup, bucket: Bucket
) -> dict[str, Function]:
    """The CodeDeploy pre-traffic hook publishes the release's static files, the post-traffic hook
    deletes the previous release's. Names start with `CodeDeployHook_`, the only functions the
    CodeDeploy managed policy may invoke."""
    assets_key = config.artifact("dashboard-assets").key
    # Every release's assets artifact, not this one's key: a grant rewritten in the stack update that
    # runs the hook may not have reached S3 yet when the hook reads (IAM is eventually consistent).
    assets = f"{posixpath.dirname(assets_key)}/*"
    objects = Join("", [GetAtt(bucket, "Arn"), "/*"])
    deployment_group = arn(
        "codedeploy", "deploymentgroup:${DashboardDeployApplication}/${DashboardDeploymentGroup}"
    )
    report = allow(["codedeploy:PutLifecycleEventHookExecutionStatus"], [deployment_group])
    hooks = {
        "pre-traffic": [
            report,
            allow(
                ["s3:GetObject"], [Sub(f"arn:{PARTITION}:s3:::${{{PARAM_ARTIFACTS_BUCKET}}}/{assets}")]
            ),
            allow(["s3:PutObject", "s3:PutObjectTagging"], [objects]),
        ],
        "post-traffic": [
            report,
            allow(["s3:ListBucket"], [GetAtt(bucket, "Arn")]),
            allow(["s3:GetObjectTagging", "s3:DeleteObject"], [objects]),
        ],
    }
    functions: dict[str, Function] = {}
    for role, statements in hooks.items():
        module = role.replace("-", "_")
        function, _ = python_function(
            t,
            config,
            FunctionSpec(
                logical_id="Dashboard" + "".join(p.capitalize() for p in role.split("-")) + "Hook",
                name=config.names.hook_function(role),
                handler=f"lambdas.hooks.{module}.handler",
                artifact="hooks",
                log_group=group,
                statements=statements,
                environment={
                    Env.DASHBOARD_BUCKET: Ref(bucket),
                    Env.ARTIFACTS_BUCKET: Ref(PARAM_ARTIFACTS_BUCKET),
                    Env.DASHBOARD_ASSETS_KEY: assets_key,
                },
                timeout=300,
                memory=512,
                description=f"Dashboard release {role} hook",
            ),
        )
        functions[role] = function
    return functions


def release_hash(config: PlatformConfig) -> str:
    """Short hash of what a dashboard release consists of (server code and static files)."""
    digest = hashlib.sha256()
    for name in ("dashboard-server", "dashboard-assets"):
        digest.update(config.artifact(name).sha256.encode())
    return digest.hexdigest()[:12]


def add_dashboard_function(
    t: Template, config: PlatformConfig, group: LogGroup, hooks: dict[str, Function]
) -> Alias:
    release = release_hash(config)
    function, _ = python_function(
        t,
        config,
        FunctionSpec(
            logical_id=ids.DASHBOARD_FUNCTION,
            name=config.names.function("dashboard"),
            handler="index.handler",
            artifact="dashboard-server",
            log_group=group,
            # No secret: the server function reads none (the API behind it checks the origin secret).
            environment={Env.DOMAIN: Ref(PARAM_DOMAIN)},
            runtime=config.node_runtime,
            layers=False,
            memory=512,
            # The release hash in the description makes a release with new static files but the same
            # server code still publish a version, so the hooks run and upload them.
            description=f"Battleshiper dashboard server (release {release})",
        ),
    )
    # A new version whenever code or configuration changes (an environment-only update too); moving
    # `live` to it starts a CodeDeploy deployment, which runs the hooks.
    version = published_version(t, config, "DashboardFunctionVersion", function)
    application = t.add_resource(Application("DashboardDeployApplication", ComputePlatform="Lambda"))
    service = service_role(
        t,
        "DashboardDeployRole",
        "codedeploy.amazonaws.com",
        [],
        managed_policies=[Sub(f"arn:{PARTITION}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda")],
    )
    group_ = t.add_resource(
        DeploymentGroup(
            "DashboardDeploymentGroup",
            ApplicationName=Ref(application),
            DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce",
            DeploymentStyle=DeploymentStyle(
                DeploymentType="BLUE_GREEN", DeploymentOption="WITH_TRAFFIC_CONTROL"
            ),
            AutoRollbackConfiguration=AutoRollbackConfiguration(
                Enabled=True, Events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]
            ),
            ServiceRoleArn=GetAtt(service, "Arn"),
        )
    )
    return t.add_resource(
        Alias(
            ids.DASHBOARD_ALIAS,
            FunctionName=Ref(function),
            FunctionVersion=GetAtt(version, "Version"),
            Name=LIVE_ALIAS,
            UpdatePolicy=UpdatePolicy(
                CodeDeployLambdaAliasUpdate=CodeDeployLambdaAliasUpdate(
                    ApplicationName=Ref(application),  # troposphere validates these as booleans: pass Refs
                    DeploymentGroupName=Ref(group_),
                    BeforeAllowTrafficHook=Ref(hooks["pre-traffic"]),
                    AfterAllowTrafficHook=Ref(hooks["post-traffic"]),
                )
            ),
        )
    )


# --- dashboard CDN ---------------------------------------------------------------------------------


def _cdn_policies(
    t: Template, config: PlatformConfig
) -> tuple[CachePolicy, CachePolicy, OriginRequestPolicy]:
    no_key = {
        "CookiesConfig": CacheCookiesConfig(CookieBehavior="none"),
        "HeadersConfig": CacheHeadersConfig(HeaderBehavior="none"),
        "QueryStringsConfig": CacheQueryStringsConfig(QueryStringBehavior="none"),
    }
    # MinTTL 0 lets `Cache-Control: no-cache` (index.html) revalidate on every request, so a release
    # is visible at once; hashed `_app/immutable/*` files carry a year-long max-age.
    static = t.add_resource(
        CachePolicy(
            "DashboardStaticCachePolicy",
            CachePolicyConfig=CachePolicyConfig(
                Name=config.names.cloudfront("dashboard-static"),
                DefaultTTL=86400,
                MinTTL=0,
                MaxTTL=31536000,
                ParametersInCacheKeyAndForwardedToOrigin=ParametersInCacheKeyAndForwardedToOrigin(
                    EnableAcceptEncodingGzip=True, EnableAcceptEncodingBrotli=True, **no_key
                ),
            ),
        )
    )
    server = t.add_resource(
        CachePolicy(
            "DashboardServerCachePolicy",
            CachePolicyConfig=CachePolicyConfig(
                Name=config.names.cloudfront("dashboard-server"),
                DefaultTTL=0,
                MinTTL=0,
                MaxTTL=0,
                ParametersInCacheKeyAndForwardedToOrigin=ParametersInCacheKeyAndForwardedToOrigin(
                    EnableAcceptEncodingGzip=False, EnableAcceptEncodingBrotli=False, **no_key
                ),
            ),
        )
    )
    # Everything but `host`: API Gateway routes on its own host name.
    forward = t.add_resource(
        OriginRequestPolicy(
            "DashboardServerOriginRequestPolicy",
            OriginRequestPolicyConfig=OriginRequestPolicyConfig(
                Name=config.names.cloudfront("dashboard-server"),
                CookiesConfig=OriginRequestCookiesConfig(CookieBehavior="all"),
                HeadersConfig=OriginRequestHeadersConfig(HeaderBehavior="allExcept", Headers=["host"]),
                QueryStringsConfig=OriginRequestQueryStringsConfig(QueryStringBehavior="all"),
            ),
        )
    )
    return static, server, forward


def add_dashboard_cdn(t: Template, config: PlatformConfig, bucket: Bucket) -> None:
    static, server, forward = _cdn_policies(t, config)
    oac = origin_access_control(
        t, "DashboardOriginAccessControl", config.names.cloudfront("dashboard"),
        "Dashboard CDN reads the dashboard bucket",
    )
    static_behaviours = [
        CacheBehavior(
            PathPattern=path,
            TargetOriginId=S3_ORIGIN,
            ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=["GET", "HEAD"],
            CachedMethods=["GET", "HEAD"],
            CachePolicyId=Ref(static),
            Compress=True,
        )
        for path in DASHBOARD_STATIC_PATHS
    ]
    distribution = t.add_resource(
        Distribution(
            ids.DASHBOARD_DISTRIBUTION,
            DistributionConfig=DistributionConfig(
                Comment=f"Battleshiper dashboard ({config.stack_name})",
                Enabled=True,
                Aliases=[Ref(PARAM_DOMAIN)],
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass="PriceClass_100",
                DefaultRootObject="index.html",
                ViewerCertificate=ViewerCertificate(
                    AcmCertificateArn=Ref(PARAM_CERTIFICATE),
                    SslSupportMethod="sni-only",
                    MinimumProtocolVersion="TLSv1.2_2021",
                ),
                Origins=[
                    Origin(
                        Id=S3_ORIGIN,
                        DomainName=GetAtt(bucket, "RegionalDomainName"),
                        OriginAccessControlId=GetAtt(oac, "Id"),
                        S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
                    ),
                    Origin(
                        Id=API_ORIGIN,
                        DomainName=Sub(f"${{{ids.API}}}.execute-api.{REGION}.{URL_SUFFIX}"),
                        CustomOriginConfig=CustomOriginConfig(
                            OriginProtocolPolicy="https-only", OriginSSLProtocols=["TLSv1.2"]
                        ),
                        # Lets the API tell CloudFront's requests from direct calls to execute-api
                        # (reference defect 3).
                        OriginCustomHeaders=[
                            OriginCustomHeader(
                                HeaderName=ORIGIN_SECRET_HEADER,
                                HeaderValue=Sub(
                                    f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"
                                ),
                            )
                        ],
                    ),
                ],
                CacheBehaviors=static_behaviours,
                DefaultCacheBehavior=DefaultCacheBehavior(
                    TargetOriginId=API_ORIGIN,
                    ViewerProtocolPolicy="redirect-to-https",
                    AllowedMethods=ALL_METHODS,
                    CachedMethods=["GET", "HEAD"],
                    CachePolicyId=Ref(server),
                    OriginRequestPolicyId=Ref(forward),
                    Compress=False,
                ),
            ),
            Tags=Tags(
                **{config.names.stack_tag: config.stack_name, "Name": config.names.cloudfront("dashboard")}
            ),
        )
    )
    t.add_output(
        Output(
            ids.OUTPUT_DASHBOARD_URL, Description="The dashboard", Value=Sub(f"https://${{{PARAM_DOMAIN}}}")
        )
    )
    t.add_output(
        Output(
            ids.OUTPUT_DASHBOARD_CDN_HOST,
            Description="Point the domain's DNS record (CNAME/ALIAS) here",
            Value=GetAtt(distribution, "DomainName"),
        )
    )
    t.add_output(Output(ids.OUTPUT_DASHBOARD_BUCKET, Value=Ref(bucket)))
