"""The dashboard: its bucket, its server function released through CodeDeploy (pre/post-traffic hooks
that publish and prune its static files) and its CDN, which serves the static paths from the bucket
and everything else from the platform API (and, behind it, the server function)."""

from __future__ import annotations

import hashlib
import posixpath

from troposphere import GetAtt, Join, Output, Ref, Sub, Template
from troposphere.awslambda import Alias, Function
from troposphere.codedeploy import (
    Application,
    AutoRollbackConfiguration,
    DeploymentGroup,
    DeploymentStyle,
)
from troposphere.logs import LogGroup
from troposphere.policies import CodeDeployLambdaAliasUpdate, UpdatePolicy
from troposphere.s3 import Bucket

from lambdas.shared.names import LIVE_ALIAS, Env
from templates import cdn, ids
from templates.common import (
    PARTITION,
    REGION,
    URL_SUFFIX,
    FunctionSpec,
    allow,
    arn,
    python_function,
    service_role,
)
from templates.config import PlatformConfig
from templates.parameters import PARAM_ARTIFACTS_BUCKET, PARAM_CERTIFICATE, PARAM_DOMAIN
from templates.storage import cloudfront_readable, origin_access_control, private_bucket
from templates.versions import published_version

# Paths the dashboard CDN serves from its bucket; everything else goes to the API (and from there to
# the server function). Known prefixes, not "any path with a dot" (reference defect 58). `/` is the
# prerendered landing page (the distribution's default root object).
DASHBOARD_STATIC_PATHS = ("/", "/_app/*", "/favicon.*", "/robots.txt")

S3_ORIGIN = "dashboard-bucket"
API_ORIGIN = "dashboard-api"


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
            # The origin secret's value (a Node.js function without the SDK cannot read Secrets Manager):
            # API Gateway invokes it straight from the CDN, and its public endpoint takes anyone's
            # headers, so it trusts x-forwarded-host only behind the secret (web/adapter/files/lambda.js).
            environment={
                Env.DOMAIN: Ref(PARAM_DOMAIN),
                Env.ORIGIN_SECRET: Sub(
                    f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"
                ),
            },
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


def add_dashboard_cdn(t: Template, config: PlatformConfig, bucket: Bucket) -> None:
    names = config.names
    # Hashed `_app/immutable/*` files carry a year-long max-age; index.html says no-cache, and MinTTL 0
    # lets it revalidate on every request, so a release is visible at once.
    static = cdn.cache_policy(t, "DashboardStaticCachePolicy", names.cloudfront("dashboard-static"),
                              default_ttl=86400, max_ttl=31536000)
    server = cdn.cache_policy(t, "DashboardServerCachePolicy", names.cloudfront("dashboard-server"),
                              default_ttl=0, max_ttl=0, compress=False)
    forward = cdn.forward_all_but_host(t, "DashboardServerOriginRequestPolicy",
                                       names.cloudfront("dashboard-server"))
    oac = origin_access_control(
        t, "DashboardOriginAccessControl", names.cloudfront("dashboard"),
        "Dashboard CDN reads the dashboard bucket",
    )
    distribution = cdn.distribution(
        t,
        ids.DASHBOARD_DISTRIBUTION,
        comment=f"Battleshiper dashboard ({config.stack_name})",
        aliases=[Ref(PARAM_DOMAIN)],
        certificate=Ref(PARAM_CERTIFICATE),
        price_class="PriceClass_100",
        root_object="index.html",
        origins=[
            cdn.bucket_origin(S3_ORIGIN, bucket, oac),
            cdn.api_origin(
                API_ORIGIN,
                Sub(f"${{{ids.API}}}.execute-api.{REGION}.{URL_SUFFIX}"),
                Sub(f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"),
                # The host the viewer asked for (API Gateway needs its own Host); it replaces a viewer's.
                forwarded_host=Ref(PARAM_DOMAIN),
            ),
        ],
        behaviours=[cdn.behaviour(path, S3_ORIGIN, static) for path in DASHBOARD_STATIC_PATHS],
        default=cdn.default_behaviour(API_ORIGIN, server, forward=forward, compress=False),
        tags={names.stack_tag: config.stack_name, "Name": names.cloudfront("dashboard")},
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
