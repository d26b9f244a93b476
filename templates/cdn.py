"""CloudFront building blocks of both CDNs (the dashboard's and the projects'): cache policies,
origin-request policies, origins, behaviours and the distribution around them. What each CDN serves
and from where stays in its own module (`templates.dashboard`, `templates.edge`)."""

from __future__ import annotations

from collections.abc import Sequence

from troposphere import GetAtt, Ref, Tags, Template
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
    Origin,
    OriginAccessControl,
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
from troposphere.s3 import Bucket

from lambdas.shared.names import FORWARDED_HOST_HEADER, ORIGIN_SECRET_HEADER

READ_METHODS = ["GET", "HEAD"]
# CloudFront's "all methods" list, for behaviours that reach an API.
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


def cache_policy(
    t: Template,
    logical_id: str,
    name: str,
    *,
    default_ttl: int,
    max_ttl: int,
    compress: bool = True,
    headers: Sequence[str] = (),
    query_strings: bool = False,
    comment: str | None = None,
) -> CachePolicy:
    """A cache policy keyed on the URI plus `headers` (and the query string if `query_strings`); never
    on cookies. MinTTL is always 0, so `Cache-Control: no-cache` revalidates on every request."""
    header_config = (
        CacheHeadersConfig(HeaderBehavior="whitelist", Headers=list(headers))
        if headers
        else CacheHeadersConfig(HeaderBehavior="none")
    )
    config: dict[str, object] = {
        "Name": name,
        "DefaultTTL": default_ttl,
        "MinTTL": 0,
        "MaxTTL": max_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": ParametersInCacheKeyAndForwardedToOrigin(
            CookiesConfig=CacheCookiesConfig(CookieBehavior="none"),
            HeadersConfig=header_config,
            QueryStringsConfig=CacheQueryStringsConfig(
                QueryStringBehavior="all" if query_strings else "none"
            ),
            EnableAcceptEncodingGzip=compress,
            EnableAcceptEncodingBrotli=compress,
        ),
    }
    if comment:
        config["Comment"] = comment
    return t.add_resource(CachePolicy(logical_id, CachePolicyConfig=CachePolicyConfig(**config)))


def forward_all_but_host(
    t: Template, logical_id: str, name: str, comment: str | None = None
) -> OriginRequestPolicy:
    """Every cookie, header and query string but `host`: API Gateway routes on its own host name."""
    config: dict[str, object] = {
        "Name": name,
        "HeadersConfig": OriginRequestHeadersConfig(HeaderBehavior="allExcept", Headers=["host"]),
        "CookiesConfig": OriginRequestCookiesConfig(CookieBehavior="all"),
        "QueryStringsConfig": OriginRequestQueryStringsConfig(QueryStringBehavior="all"),
    }
    if comment:
        config["Comment"] = comment
    return t.add_resource(
        OriginRequestPolicy(logical_id, OriginRequestPolicyConfig=OriginRequestPolicyConfig(**config))
    )


def bucket_origin(origin_id: str, bucket: Bucket, access: OriginAccessControl) -> Origin:
    """A private bucket, read through origin access control (no origin access identity)."""
    return Origin(
        Id=origin_id,
        DomainName=GetAtt(bucket, "RegionalDomainName"),
        OriginAccessControlId=GetAtt(access, "Id"),
        S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
    )


def api_origin(
    origin_id: str, domain: object, secret_value: object, *, read_timeout: int | None = None,
    forwarded_host: object | None = None,
) -> Origin:
    """An API Gateway origin over TLS 1.2. Every request carries the origin secret, so the API can
    refuse calls that bypass the CDN through the public execute-api endpoint (reference defect 3).
    `forwarded_host` becomes `x-forwarded-host` (an origin custom header overwrites a viewer's)."""
    custom: dict[str, object] = {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}
    if read_timeout is not None:
        custom["OriginReadTimeout"] = read_timeout
    return Origin(
        Id=origin_id,
        DomainName=domain,
        CustomOriginConfig=CustomOriginConfig(**custom),
        OriginCustomHeaders=[
            OriginCustomHeader(HeaderName=ORIGIN_SECRET_HEADER, HeaderValue=secret_value),
            *([OriginCustomHeader(HeaderName=FORWARDED_HOST_HEADER, HeaderValue=forwarded_host)]
              if forwarded_host is not None else []),
        ],
    )


def viewer_request(function: Function) -> list[FunctionAssociation]:
    return [FunctionAssociation(EventType="viewer-request",
                                FunctionARN=GetAtt(function, "FunctionMetadata.FunctionARN"))]


def _behaviour(origin: str, policy: CachePolicy, *, methods: Sequence[str], compress: bool,
               forward: OriginRequestPolicy | None, function: Function | None) -> dict[str, object]:
    props: dict[str, object] = {
        "TargetOriginId": origin,
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": list(methods),
        "CachedMethods": READ_METHODS,
        "CachePolicyId": Ref(policy),
        "Compress": compress,
    }
    if forward is not None:
        props["OriginRequestPolicyId"] = Ref(forward)
    if function is not None:
        props["FunctionAssociations"] = viewer_request(function)
    return props


def behaviour(path: str, origin: str, policy: CachePolicy, *, methods: Sequence[str] = READ_METHODS,
              compress: bool = True, forward: OriginRequestPolicy | None = None,
              function: Function | None = None) -> CacheBehavior:
    """Requests matching `path` go to `origin`, HTTPS only; `function` runs at viewer request."""
    return CacheBehavior(PathPattern=path, **_behaviour(origin, policy, methods=methods, compress=compress,
                                                        forward=forward, function=function))


def default_behaviour(origin: str, policy: CachePolicy, *, methods: Sequence[str] = ALL_METHODS,
                      compress: bool = True, forward: OriginRequestPolicy | None = None,
                      function: Function | None = None) -> DefaultCacheBehavior:
    """Every request no path behaviour matched."""
    return DefaultCacheBehavior(**_behaviour(origin, policy, methods=methods, compress=compress,
                                             forward=forward, function=function))


def distribution(
    t: Template, logical_id: str, *, comment: str, aliases: list[object], certificate: object,
    price_class: str, origins: list[Origin], behaviours: list[CacheBehavior], default: DefaultCacheBehavior,
    tags: dict[str, object], root_object: str | None = None,
) -> Distribution:
    """An HTTP/2 and 3, dual-stack distribution on `aliases`, with an SNI certificate and TLS 1.2 at least."""
    config: dict[str, object] = {
        "Comment": comment,
        "Enabled": True,
        "Aliases": aliases,
        "HttpVersion": "http2and3",
        "IPV6Enabled": True,
        "PriceClass": price_class,
        "ViewerCertificate": ViewerCertificate(
            AcmCertificateArn=certificate, SslSupportMethod="sni-only", MinimumProtocolVersion="TLSv1.2_2021"
        ),
        "Origins": origins,
        "CacheBehaviors": behaviours,
        "DefaultCacheBehavior": default,
    }
    if root_object:
        config["DefaultRootObject"] = root_object
    return t.add_resource(
        Distribution(logical_id, DistributionConfig=DistributionConfig(**config), Tags=Tags(**tags))
    )
