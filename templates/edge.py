"""The project edge: one CloudFront distribution for `*.<domain>` serving every project.

Static files come from the project bucket, where each deployment lives under its own immutable prefix
`<project>/<deployment-id>/`; everything else goes to the router (HTTP API + Lambda), which invokes the
project's own function. Two CloudFront Functions resolve host -> project -> live deployment through the
route store (a CloudFront KeyValueStore) on every request.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Tags, Template
from troposphere.apigatewayv2 import Api, Integration, Route, Stage
from troposphere.awslambda import Permission
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
    Function,
    FunctionAssociation,
    FunctionConfig,
    KeyValueStore,
    KeyValueStoreAssociation,
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
from troposphere.s3 import (
    Bucket,
)
from troposphere.secretsmanager import GenerateSecretString, Secret

from lambdas.shared import names as n
from lambdas.shared.names import Env
from templates import cloudfront_functions, ids
from templates.common import (
    PARAM_DOMAIN,
    PARAM_WILDCARD_CERTIFICATE,
    FunctionSpec,
    allow,
    arn,
    python_function,
)
from templates.config import PlatformConfig
from templates.storage import cloudfront_readable, origin_access_control, private_bucket

# Origin ids; the server-route function selects STATIC_ORIGIN by this id (see server_route.js).
STATIC_ORIGIN = "project-bucket"
ROUTER_ORIGIN = "router"

# Behaviours in CloudFront's evaluation order. Router paths come first: SvelteKit's data requests and its
# runtime `env.js` contain a dot or live under /_app/. Static files are matched by the extensions a
# SvelteKit build emits, not by "has a dot" (reference defect 58): `/u/john.doe` still reaches the app.
# 2 + 21 = 23 behaviours, under CloudFront's default quota of 25.
ROUTER_PATHS = ("/_app/env.js", "*/__data.json")
STATIC_PATHS = (
    "/_app/*",
    "/robots.txt",
    "*.webmanifest",
    *(
        f"*.{ext}"
        for ext in (
            "ico", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg",
            "woff2", "woff", "ttf", "otf", "css", "js", "map", "wasm", "pdf", "mp4",
        )
    ),
)
ONE_YEAR = 31_536_000
ROUTER_TIMEOUT = 29  # seconds; API Gateway gives up at 30
ROUTER_HANDLER = "lambdas.router.handler.handler"
READ_METHODS = ["GET", "HEAD"]


def viewer_request(function: Function) -> list[FunctionAssociation]:
    return [FunctionAssociation(EventType="viewer-request",
                                FunctionARN=GetAtt(function, "FunctionMetadata.FunctionARN"))]


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
                # Only the `live` alias of project functions, never $LATEST or another stack's functions.
                allow(["lambda:InvokeFunction"],
                      [arn("lambda", f"function:{names.project_function_prefix}*:{n.LIVE_ALIAS}")]),
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
    t.add_resource(Stage("RouterApiStage", ApiId=Ref(api), StageName="$default", AutoDeploy=True))
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
    static = t.add_resource(
        CachePolicy(
            "ProjectStaticCachePolicy",
            CachePolicyConfig=CachePolicyConfig(
                Name=names.cloudfront("project-static"),
                Comment="Deployment files: the URI carries project and deployment, so it is the whole key",
                # Paths are immutable per deployment, so a long edge lifetime is always safe.
                DefaultTTL=ONE_YEAR, MinTTL=0, MaxTTL=ONE_YEAR,
                ParametersInCacheKeyAndForwardedToOrigin=ParametersInCacheKeyAndForwardedToOrigin(
                    CookiesConfig=CacheCookiesConfig(CookieBehavior="none"),
                    HeadersConfig=CacheHeadersConfig(HeaderBehavior="none"),
                    QueryStringsConfig=CacheQueryStringsConfig(QueryStringBehavior="none"),
                    EnableAcceptEncodingGzip=True,
                    EnableAcceptEncodingBrotli=True,
                ),
            ),
        )
    )
    router_policy = t.add_resource(
        CachePolicy(
            "ProjectRouterCachePolicy",
            CachePolicyConfig=CachePolicyConfig(
                Name=names.cloudfront("project-router"),
                Comment="Server routes: not cached unless the app sends Cache-Control",
                # Default 0 = uncached; MaxTTL > 0 because CloudFront refuses compression (and a cache
                # key) when all three TTLs are 0. Should the app opt into caching, the key keeps hosts
                # and deployments apart: the edge sets both headers after checking the host.
                DefaultTTL=0, MinTTL=0, MaxTTL=ONE_YEAR,
                ParametersInCacheKeyAndForwardedToOrigin=ParametersInCacheKeyAndForwardedToOrigin(
                    CookiesConfig=CacheCookiesConfig(CookieBehavior="none"),
                    HeadersConfig=CacheHeadersConfig(
                        HeaderBehavior="whitelist", Headers=[n.FORWARDED_HOST_HEADER, n.DEPLOYMENT_HEADER]
                    ),
                    QueryStringsConfig=CacheQueryStringsConfig(QueryStringBehavior="all"),
                    EnableAcceptEncodingGzip=True,
                    EnableAcceptEncodingBrotli=True,
                ),
            ),
        )
    )
    return static, router_policy


def router_origin_request_policy(t: Template, config: PlatformConfig) -> OriginRequestPolicy:
    return t.add_resource(
        OriginRequestPolicy(
            "ProjectRouterOriginRequestPolicy",
            OriginRequestPolicyConfig=OriginRequestPolicyConfig(
                Name=config.names.cloudfront("project-router"),
                Comment="Everything the app may need, except Host (API Gateway routes by its own host)",
                HeadersConfig=OriginRequestHeadersConfig(HeaderBehavior="allExcept", Headers=["host"]),
                CookiesConfig=OriginRequestCookiesConfig(CookieBehavior="all"),
                QueryStringsConfig=OriginRequestQueryStringsConfig(QueryStringBehavior="all"),
            ),
        )
    )


def project_distribution(t: Template, config: PlatformConfig, bucket: Bucket, store: KeyValueStore,
                         api: Api, secret: Secret) -> Distribution:
    names = config.names
    cache_route = edge_function(t, "CacheRouteFunction", "cache-route",
                                "Project static files: host -> live deployment prefix", store, config)
    server_route = edge_function(t, "ServerRouteFunction", "server-route",
                                 "Project server routes: host -> project headers, prerendered pages", store,
                                 config)
    static_policy, router_policy = cache_policies(t, config)
    origin_policy = router_origin_request_policy(t, config)
    access = origin_access_control(
        t, "ProjectOriginAccessControl", names.cloudfront("project-bucket"),
        "Project CDN reads the project bucket",
    )

    def behaviour(path: str, origin: str, cache_policy: CachePolicy, function: Function,
                  **extra: object) -> CacheBehavior:
        return CacheBehavior(
            PathPattern=path,
            TargetOriginId=origin,
            ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=READ_METHODS,
            CachedMethods=READ_METHODS,
            Compress=True,
            CachePolicyId=Ref(cache_policy),
            FunctionAssociations=viewer_request(function),
            **extra,
        )

    forward_all = Ref(origin_policy)
    behaviours = [
        *(
            behaviour(path, ROUTER_ORIGIN, router_policy, server_route, OriginRequestPolicyId=forward_all)
            for path in ROUTER_PATHS
        ),
        *(behaviour(path, STATIC_ORIGIN, static_policy, cache_route) for path in STATIC_PATHS),
    ]
    return t.add_resource(
        Distribution(
            ids.PROJECT_DISTRIBUTION,
            DistributionConfig=DistributionConfig(
                Enabled=True,
                Comment=f"{config.stack_name}: projects",
                Aliases=[Sub("*.${Domain}", Domain=Ref(PARAM_DOMAIN))],
                ViewerCertificate=ViewerCertificate(
                    AcmCertificateArn=Ref(PARAM_WILDCARD_CERTIFICATE),
                    SslSupportMethod="sni-only",
                    MinimumProtocolVersion="TLSv1.2_2021",
                ),
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass="PriceClass_All",
                Origins=[
                    Origin(
                        Id=STATIC_ORIGIN,
                        DomainName=GetAtt(bucket, "RegionalDomainName"),
                        OriginAccessControlId=GetAtt(access, "Id"),
                        S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
                    ),
                    Origin(
                        Id=ROUTER_ORIGIN,
                        DomainName=Sub("${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}", Api=Ref(api)),
                        CustomOriginConfig=CustomOriginConfig(
                            OriginProtocolPolicy="https-only", OriginSSLProtocols=["TLSv1.2"],
                            OriginReadTimeout=30,
                        ),
                        # The router refuses requests without it, so the public execute-api endpoint
                        # cannot be used to bypass the edge (reference defect 3).
                        OriginCustomHeaders=[
                            OriginCustomHeader(
                                HeaderName=n.ORIGIN_SECRET_HEADER,
                                HeaderValue=Sub("{{resolve:secretsmanager:${Secret}:SecretString}}",
                                                Secret=Ref(secret)),
                            )
                        ],
                    ),
                ],
                CacheBehaviors=behaviours,
                DefaultCacheBehavior=DefaultCacheBehavior(
                    TargetOriginId=ROUTER_ORIGIN,
                    ViewerProtocolPolicy="redirect-to-https",
                    AllowedMethods=["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                    CachedMethods=READ_METHODS,
                    Compress=True,
                    CachePolicyId=Ref(router_policy),
                    OriginRequestPolicyId=forward_all,
                    FunctionAssociations=viewer_request(server_route),
                ),
            ),
            Tags=Tags(**{names.stack_tag: config.stack_name}),
        )
    )
