"""The platform API: one function per `/api/<prefix>` with exactly the grants its handler needs, and
the HTTP API that routes those prefixes to them and every other path to the dashboard's server."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Statement
from troposphere import GetAtt, Join, Ref, Sub, Template
from troposphere.apigatewayv2 import Api, Integration, Route, Stage
from troposphere.awslambda import Alias, Function, Permission
from troposphere.logs import LogGroup

from lambdas.shared.names import BUILD_SPEC_FILE, LIVE_ALIAS, PLATFORM_LOG_KINDS, RUNTIME_CONFIG_FILE, Env
from templates import ids
from templates.common import (
    PARTITION,
    ROUTE_STORE_ACCESS,
    TABLE_READ,
    TABLE_SCAN,
    TABLE_WRITE,
    FunctionSpec,
    allow,
    arn,
    put_events,
    python_function,
    throttled,
)
from templates.config import PlatformConfig
from templates.data import table_environment
from templates.parameters import (
    PARAM_ADMIN,
    PARAM_API_THROTTLE_BURST,
    PARAM_API_THROTTLE_RATE,
    PARAM_DOMAIN,
    PARAM_GITHUB_SECRET,
)

API_ROUTES = ("auth", "user", "resource", "admin", "pipeline")  # ANY /api/<prefix>/{proxy+}


def _table_arns(kind: str) -> list[object]:
    """The table and its indexes."""
    table = GetAtt(ids.TABLE_IDS[kind], "Arn")
    return [table, Join("/", [table, "index", "*"])]


def _reads(*kinds: str) -> Statement:
    return allow(TABLE_READ, [a for k in kinds for a in _table_arns(k)])


def _writes(*kinds: str) -> Statement:
    return allow(TABLE_WRITE, [GetAtt(ids.TABLE_IDS[k], "Arn") for k in kinds])  # indexes are read-only


def _secret(*logical_ids: str) -> Statement:
    return allow(["secretsmanager:GetSecretValue"], [Ref(i) for i in logical_ids])


def _github_secret() -> Statement:
    return allow(["secretsmanager:GetSecretValue"], [Ref(PARAM_GITHUB_SECRET)])


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
        # deployments rw: builds and rollbacks write deployment records (lambdas/shared/builds, releases);
        # nonces rw: alias claims (lambdas/shared/store.py)
        {"users": "rw", "projects": "rw", "subscriptions": "r", "deployments": "rw", "nonces": "rw"},
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
        return [_token_key()]
    if fn.module == "resource":
        return [
            put_events(),
            allow(ROUTE_STORE_ACCESS, [GetAtt(ids.ROUTE_STORE, "Arn")]),
            # fetchlog reads with FilterLogEvents (bounded window, no Logs Insights queries left running).
            allow(["logs:FilterLogEvents"], [_project_log_groups(config)]),
            _project_event_log_write(config),
            *_build_trigger_rights(),
            *_rollback_rights(config),
            # An alias is claimed only while no project has that name (one transaction).
            allow(["dynamodb:ConditionCheckItem"], [GetAtt(ids.TABLE_IDS["projects"], "Arn")]),
        ]
    if fn.module == "admin":
        # Listing every user (role managers) and every subscription: the only scans of the platform.
        scanned = [GetAtt(ids.TABLE_IDS[k], "Arn") for k in ("users", "subscriptions")]
        # A role manager loses the role only while another one keeps it (one transaction).
        keeper = allow(["dynamodb:ConditionCheckItem"], [GetAtt(ids.TABLE_IDS["users"], "Arn")])
        return [put_events(), allow(["logs:FilterLogEvents"], platform_groups), allow(TABLE_SCAN, scanned),
                keeper]
    if fn.module == "webhook":
        return [put_events(), _project_event_log_write(config), *_build_trigger_rights()]
    return []


def _token_key(*more: str) -> Statement:
    """The users' GitHub tokens at rest (lambdas/shared/tokens.py): decrypted to ask GitHub what a user
    can access, encrypted again when a renewal rotates them (lambdas/shared/access.py)."""
    return allow(["kms:Encrypt", "kms:Decrypt", *more], [GetAtt(ids.TOKEN_KEY, "Arn")])


def _build_trigger_rights() -> list[Statement]:
    """Starting a build (lambdas/shared/builds.py): write the build spec and the sealed runtime
    configuration, nothing else in the bucket; the owner's repository access is checked with their GitHub
    token; the project's variables are opened and sealed again with the platform key (envelope.py)."""
    written = [Sub(f"arn:{PARTITION}:s3:::${{Bucket}}/*/{name}", Bucket=Ref(ids.BUILD_BUCKET))
               for name in (BUILD_SPEC_FILE, RUNTIME_CONFIG_FILE)]
    return [_token_key("kms:GenerateDataKey"), allow(["s3:PutObject"], written)]


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
        **table_environment(fn.tables),
    }
    secret_env = {
        ids.SESSION_KEY_SECRET: Env.SESSION_KEY_SECRET_ARN,
        ids.TICKET_KEY_SECRET: Env.TICKET_KEY_SECRET_ARN,
    }
    env.update({secret_env[s]: Ref(s) for s in fn.secrets})
    if fn.github:
        env[Env.GITHUB_SECRET_ARN] = Ref(PARAM_GITHUB_SECRET)
    if fn.module == "auth":  # registration (at sign-in) decides who becomes the first manager
        env[Env.ADMIN_GITHUB_ID] = Ref(PARAM_ADMIN)
    if fn.module in ("auth", "resource", "webhook"):  # users' GitHub tokens (lambdas/shared/access.py)
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


# --- the HTTP API --------------------------------------------------------------------------------------


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
    t.add_resource(Stage("ApiDefaultStage", ApiId=Ref(ids.API), StageName="$default", AutoDeploy=True,
                         DefaultRouteSettings=throttled(PARAM_API_THROTTLE_RATE, PARAM_API_THROTTLE_BURST)))
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
