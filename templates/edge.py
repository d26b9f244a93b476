"""The project edge: one CloudFront distribution for `*.<domain>` serving every project.

The deployment's files come from the project bucket, where each deployment lives under its own immutable
prefix `<project>/<deployment-id>/`; everything else goes to the router (HTTP API + Lambda), which invokes
the function version of the deployment the edge resolved. Two CloudFront Functions resolve host -> project
-> live deployment (-> file) through the route store (a CloudFront KeyValueStore) on every request.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Tags, Template
from troposphere.apigatewayv2 import Api, Integration, Route, Stage
from troposphere.awslambda import Permission
from troposphere.cloudfront import (
    CachePolicy,
    Distribution,
    Function,
    FunctionConfig,
    KeyValueStore,
    KeyValueStoreAssociation,
)
from troposphere.s3 import (
    Bucket,
)
from troposphere.secretsmanager import GenerateSecretString, Secret

from lambdas.shared import names as n
from lambdas.shared.names import Env
from templates import cdn, cloudfront_functions, ids
from templates.common import FunctionSpec, allow, arn, python_function, throttled
from templates.config import PlatformConfig
from templates.parameters import (
    PARAM_DOMAIN,
    PARAM_PROJECT_THROTTLE_BURST,
    PARAM_PROJECT_THROTTLE_RATE,
    PARAM_WILDCARD_CERTIFICATE,
)
from templates.storage import cloudfront_readable, origin_access_control, private_bucket

# Origin ids; the server-route function selects STATIC_ORIGIN by this id (see server_route.js).
STATIC_ORIGIN = "project-bucket"
ROUTER_ORIGIN = "router"

# Behaviours in CloudFront's evaluation order: 1 + the default, far under CloudFront's quota of 25.
# Routing follows what the deployment contains, not the file extension (reference defect 58): SvelteKit's
# hashed `/_app/immutable/*` assets are always files, so they go straight to the bucket; every other path
# meets the server-route function, which sends it to the bucket if the deploy wrote a route key for it (a
# static file or prerendered page) and to the router otherwise (`/u/john.doe`, `/og.png` made by the app).
STATIC_PATHS = ("/_app/immutable/*",)
ONE_YEAR = 31_536_000
ROUTER_TIMEOUT = 29  # seconds; API Gateway gives up at 30
ROUTER_HANDLER = "lambdas.router.handler.handler"


def add(t: Template, config: PlatformConfig) -> None:
    names = config.names
    store = t.add_resource(
        KeyValueStore(ids.ROUTE_STORE, Name=names.route_store, Comment="Aliases, live deployments, pages")
    )
    secret = t.add_resource(
        Secret(
            ids.ORIGIN_SECRET,
            Name=names.origin_secret,
            Description="Sent by the project CDN to the router; the router refuses requests without it",
            GenerateSecretString=GenerateSecretString(PasswordLength=64, ExcludePunctuation=True),
            Tags=Tags(**{names.stack_tag: config.stack_name}),
        )
    )
    bucket = private_bucket(t, ids.PROJECT_BUCKET, config)
    api = router(t, config, bucket, secret)
    distribution = project_distribution(t, config, bucket, store, api, secret)
    cloudfront_readable(t, bucket, distribution.title)
    t.add_output(Output(ids.OUTPUT_PROJECT_CDN_HOST, Value=GetAtt(distribution, "DomainName")))
    t.add_output(Output(ids.OUTPUT_PROJECT_BUCKET, Value=Ref(bucket)))


def router(t: Template, config: PlatformConfig, bucket: Bucket, secret: Secret) -> Api:
    """The HTTP API behind the distribution's router origin and its function."""
    names = config.names
    function, _role = python_function(
        t,
        config,
        FunctionSpec(
            logical_id=ids.ROUTER_FUNCTION,
            name=names.function("router"),
            handler=ROUTER_HANDLER,
            artifact="router",
            log_group=t.resources[ids.ROUTER_LOG_GROUP],  # owned by the internal subsystem
            description="Serves project requests from the project CDN: prerendered pages and server routes",
            timeout=ROUTER_TIMEOUT,
            statements=[
                # Only deployment aliases of project functions (the deployment the edge resolved), never
                # $LATEST, a bare version or another stack's functions.
                allow(["lambda:InvokeFunction"], [arn(
                    "lambda", f"function:{names.project_function_prefix}*:{n.deployment_alias('*')}"
                )]),
                # To tell a missing deployment alias (503, retry) from a missing function (404).
                allow(["lambda:ListAliases"], [arn("lambda", f"function:{names.project_function_prefix}*")]),
                allow(["s3:GetObject"], [Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))]),
                # NoSuchKey (404) instead of AccessDenied for a missing page.
                allow(["s3:ListBucket"], [GetAtt(bucket, "Arn")]),
                allow(["secretsmanager:GetSecretValue"], [Ref(secret)]),
            ],
            environment={
                Env.ORIGIN_SECRET_ARN: Ref(secret),
                Env.PROJECT_BUCKET: Ref(bucket),
                Env.PROJECT_FUNCTION_PREFIX: names.project_function_prefix,
                Env.DOMAIN: Ref(PARAM_DOMAIN),
            },
        ),
    )
    api = t.add_resource(
        Api(ids.ROUTER_API, Name=names.router_api, ProtocolType="HTTP",
            Description="Origin of the project CDN (requests without the origin secret are refused)")
    )
    integration = t.add_resource(
        Integration(
            "RouterApiIntegration",
            ApiId=Ref(api),
            IntegrationType="AWS_PROXY",
            IntegrationUri=GetAtt(function, "Arn"),
            PayloadFormatVersion="2.0",
            TimeoutInMillis=30_000,
        )
    )
    target = Sub("integrations/${Id}", Id=Ref(integration))
    # `$default` catches every path; `ANY /` is explicit so the root never depends on it (defect 57).
    t.add_resource(Route("RouterApiDefaultRoute", ApiId=Ref(api), RouteKey="$default", Target=target))
    t.add_resource(Route("RouterApiRootRoute", ApiId=Ref(api), RouteKey="ANY /", Target=target))
    t.add_resource(Stage("RouterApiStage", ApiId=Ref(api), StageName="$default", AutoDeploy=True,
                         DefaultRouteSettings=throttled(PARAM_PROJECT_THROTTLE_RATE,
                                                        PARAM_PROJECT_THROTTLE_BURST)))
    t.add_resource(
        Permission(
            "RouterFunctionApiPermission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(function),
            Principal="apigateway.amazonaws.com",
            SourceArn=arn("execute-api", f"${{{ids.ROUTER_API}}}/*"),
        )
    )
    return api


def edge_function(t: Template, logical_id: str, name: str, role: str, store: KeyValueStore,
                  config: PlatformConfig) -> Function:
    return t.add_resource(
        Function(
            logical_id,
            Name=config.names.cloudfront(name),
            AutoPublish=True,
            FunctionCode=cloudfront_functions.function_code(name, GetAtt(store, "Id"), Ref(PARAM_DOMAIN)),
            FunctionConfig=FunctionConfig(
                Comment=role,
                Runtime="cloudfront-js-2.0",
                KeyValueStoreAssociations=[KeyValueStoreAssociation(KeyValueStoreARN=GetAtt(store, "Arn"))],
            ),
        )
    )


def cache_policies(t: Template, config: PlatformConfig) -> tuple[CachePolicy, CachePolicy]:
    names = config.names
    # Paths are immutable per deployment, so a long edge lifetime is always safe.
    static = cdn.cache_policy(
        t, "ProjectStaticCachePolicy", names.cloudfront("project-static"),
        comment="Deployment files: the URI carries project and deployment, so it is the whole key",
        default_ttl=ONE_YEAR, max_ttl=ONE_YEAR,
    )
    # Default 0 = uncached; MaxTTL > 0 because CloudFront refuses compression (and a cache key) when
    # all three TTLs are 0. Should the app opt into caching, the key keeps hosts and deployments
    # apart: the edge sets both headers after checking the host.
    router_policy = cdn.cache_policy(
        t, "ProjectRouterCachePolicy", names.cloudfront("project-router"),
        comment="Server routes: not cached unless the app sends Cache-Control",
        default_ttl=0, max_ttl=ONE_YEAR,
        headers=[n.FORWARDED_HOST_HEADER, n.DEPLOYMENT_HEADER], query_strings=True,
    )
    return static, router_policy


def project_distribution(t: Template, config: PlatformConfig, bucket: Bucket, store: KeyValueStore,
                         api: Api, secret: Secret) -> Distribution:
    names = config.names
    cache_route = edge_function(t, "CacheRouteFunction", "cache-route",
                                "Project immutable assets: host -> live deployment prefix", store, config)
    server_route = edge_function(t, "ServerRouteFunction", "server-route",
                                 "Project paths: host -> deployment file from the bucket, else the router",
                                 store, config)
    static_policy, router_policy = cache_policies(t, config)
    forward = cdn.forward_all_but_host(
        t, "ProjectRouterOriginRequestPolicy", names.cloudfront("project-router"),
        "Everything the app may need, except Host (API Gateway routes by its own host)",
    )
    access = origin_access_control(
        t, "ProjectOriginAccessControl", names.cloudfront("project-bucket"),
        "Project CDN reads the project bucket",
    )
    behaviours = [
        cdn.behaviour(path, STATIC_ORIGIN, static_policy, function=cache_route) for path in STATIC_PATHS
    ]
    return cdn.distribution(
        t,
        ids.PROJECT_DISTRIBUTION,
        comment=f"{config.stack_name}: projects",
        aliases=[Sub("*.${Domain}", Domain=Ref(PARAM_DOMAIN))],
        certificate=Ref(PARAM_WILDCARD_CERTIFICATE),
        price_class="PriceClass_All",
        origins=[
            cdn.bucket_origin(STATIC_ORIGIN, bucket, access),
            cdn.api_origin(
                ROUTER_ORIGIN,
                Sub("${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}", Api=Ref(api)),
                Sub("{{resolve:secretsmanager:${Secret}:SecretString}}", Secret=Ref(secret)),
                read_timeout=30,
            ),
        ],
        behaviours=behaviours,
        default=cdn.default_behaviour(ROUTER_ORIGIN, router_policy, forward=forward, function=server_route),
        tags={names.stack_tag: config.stack_name},
    )
