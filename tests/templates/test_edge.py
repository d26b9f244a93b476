"""The project edge in the platform template: what a visitor's request meets on its way to a project."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from troposphere import Template

from lambdas.shared import names
from lambdas.shared.names import Env
from templates import cloudfront_functions, edge, ids, platform
from templates.config import PlatformConfig, placeholder_artifacts

Json = dict[str, Any]


def build(stack: str = "battleshiper") -> Template:
    return platform.build_platform_template(
        PlatformConfig(stack_name=stack, artifacts=placeholder_artifacts())
    )


@pytest.fixture(scope="module")
def doc() -> Json:
    result: Json = json.loads(build().to_json())
    return result


def props(doc: Json, logical_id: str) -> Json:
    result: Json = doc["Resources"][logical_id]["Properties"]
    return result


def of_type(doc: Json, kind: str) -> dict[str, Json]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == kind}


def distribution(doc: Json) -> Json:
    result: Json = props(doc, ids.PROJECT_DISTRIBUTION)["DistributionConfig"]
    return result


def behaviour_for(doc: Json, path: str) -> Json:
    """The behaviour CloudFront picks for `path`: the first matching pattern, else the default."""
    config = distribution(doc)
    for behaviour in config["CacheBehaviors"]:
        if fnmatchcase(path, behaviour["PathPattern"]):
            result: Json = behaviour
            return result
    default: Json = config["DefaultCacheBehavior"]
    return default


def edge_function_of(behaviour: Json) -> str:
    (association,) = behaviour["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    logical_id: str = association["FunctionARN"]["Fn::GetAtt"][0]
    return logical_id


@pytest.mark.parametrize(
    ("path", "origin", "function"),
    [
        # SvelteKit's hashed assets are always files: straight to the bucket.
        ("/_app/immutable/entry/app.Bx1.js", edge.STATIC_ORIGIN, "CacheRouteFunction"),
        ("/_app/immutable/assets/0.Cx2.css", edge.STATIC_ORIGIN, "CacheRouteFunction"),
        # Everything else meets the server-route function, which picks the bucket when the deployment has
        # the file (its route key) and the router otherwise; the extension decides nothing (defect 58).
        ("/_app/version.json", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/_app/env.js", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/favicon.png", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/robots.txt", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/data.json", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/og.png", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/__data.json", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/blog/post/__data.json", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/u/john.doe", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/v1.2/changelog", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/sitemap.xml", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/about.html", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
        ("/cart", edge.ROUTER_ORIGIN, "ServerRouteFunction"),
    ],
)
def test_requests_reach_the_right_origin(doc: Json, path: str, origin: str, function: str) -> None:
    behaviour = behaviour_for(doc, path)
    assert behaviour["TargetOriginId"] == origin
    assert edge_function_of(behaviour) == function
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


def test_behaviours_fit_cloudfronts_default_quota(doc: Json) -> None:
    assert len(distribution(doc)["CacheBehaviors"]) + 1 <= 25
    # Only the immutable assets bypass the route lookup.
    assert [b["PathPattern"] for b in distribution(doc)["CacheBehaviors"]] == ["/_app/immutable/*"]


def test_server_routes_accept_every_method_and_forward_all_but_host(doc: Json) -> None:
    default = distribution(doc)["DefaultCacheBehavior"]
    assert set(default["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert default["OriginRequestPolicyId"] == {"Ref": "ProjectRouterOriginRequestPolicy"}
    policy = props(doc, "ProjectRouterOriginRequestPolicy")["OriginRequestPolicyConfig"]
    assert policy["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["host"]}
    assert policy["CookiesConfig"]["CookieBehavior"] == "all"
    assert policy["QueryStringsConfig"]["QueryStringBehavior"] == "all"


def test_server_responses_are_uncached_by_default_but_compressed(doc: Json) -> None:
    default = distribution(doc)["DefaultCacheBehavior"]
    assert default["Compress"] is True
    policy = props(doc, default["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert policy["DefaultTTL"] == 0 and policy["MinTTL"] == 0
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["EnableAcceptEncodingGzip"] and key["EnableAcceptEncodingBrotli"]
    # If an app opts into caching, two projects (or deployments) never share an entry.
    assert set(key["HeadersConfig"]["Headers"]) == {names.FORWARDED_HOST_HEADER, names.DEPLOYMENT_HEADER}


def test_deployment_files_are_cached_long(doc: Json) -> None:
    behaviour = behaviour_for(doc, "/_app/immutable/chunks/x.js")
    policy = props(doc, behaviour["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert policy["DefaultTTL"] >= 86400 * 30
    assert behaviour["Compress"] is True
    assert "OriginRequestPolicyId" not in behaviour


def test_distribution_serves_every_project_subdomain(doc: Json) -> None:
    config = distribution(doc)
    assert config["Aliases"] == [{"Fn::Sub": ["*.${Domain}", {"Domain": {"Ref": "Domain"}}]}]
    cert = config["ViewerCertificate"]
    assert cert["AcmCertificateArn"] == {"Ref": "WildcardCertificateArn"}
    assert cert["SslSupportMethod"] == "sni-only"


def test_router_origin_carries_the_generated_origin_secret(doc: Json) -> None:
    origins = {o["Id"]: o for o in distribution(doc)["Origins"]}
    router = origins[edge.ROUTER_ORIGIN]
    assert router["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (header,) = router["OriginCustomHeaders"]
    assert header["HeaderName"] == names.ORIGIN_SECRET_HEADER
    template, variables = header["HeaderValue"]["Fn::Sub"]
    assert template.startswith("{{resolve:secretsmanager:${Secret}")
    assert variables == {"Secret": {"Ref": ids.ORIGIN_SECRET}}
    secret = props(doc, ids.ORIGIN_SECRET)
    assert secret["Name"] == names.Names().origin_secret
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def test_bucket_origin_signs_with_origin_access_control(doc: Json) -> None:
    origins = {o["Id"]: o for o in distribution(doc)["Origins"]}
    bucket = origins[edge.STATIC_ORIGIN]
    assert bucket["DomainName"] == {"Fn::GetAtt": [ids.PROJECT_BUCKET, "RegionalDomainName"]}
    assert bucket["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    access = props(doc, bucket["OriginAccessControlId"]["Fn::GetAtt"][0])["OriginAccessControlConfig"]
    assert access["SigningBehavior"] == "always" and access["OriginAccessControlOriginType"] == "s3"


def test_project_bucket_is_private_and_encrypted(doc: Json) -> None:
    bucket = props(doc, ids.PROJECT_BUCKET)
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]


def test_only_the_project_distribution_reads_the_bucket(doc: Json) -> None:
    policy = of_type(doc, "AWS::S3::BucketPolicy")[f"{ids.PROJECT_BUCKET}Policy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {a for s in allows for a in s["Action"]} == {"s3:GetObject", "s3:ListBucket"}
    for statement in allows:
        assert statement["Principal"] == {"Service": ["cloudfront.amazonaws.com"]}
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
        assert source.endswith(f":distribution/${{{ids.PROJECT_DISTRIBUTION}}}")
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_router_api_routes_the_root_and_everything_else_to_the_router(doc: Json) -> None:
    api = props(doc, ids.ROUTER_API)
    assert api["Name"] == names.Names().router_api and api["ProtocolType"] == "HTTP"
    router_api = {"Ref": ids.ROUTER_API}
    route_resources = [
        r for r in of_type(doc, "AWS::ApiGatewayV2::Route").values() if r["Properties"]["ApiId"] == router_api
    ]
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in route_resources}
    assert set(routes) == {"$default", "ANY /"}
    targets = {json.dumps(r["Target"], sort_keys=True) for r in routes.values()}
    assert len(targets) == 1
    (integration,) = [
        i
        for i in of_type(doc, "AWS::ApiGatewayV2::Integration").values()
        if i["Properties"]["ApiId"] == router_api
    ]
    assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [ids.ROUTER_FUNCTION, "Arn"]}
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    (permission,) = [
        p
        for p in of_type(doc, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": ids.ROUTER_FUNCTION}
    ]
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert f"${{{ids.ROUTER_API}}}/" in permission["Properties"]["SourceArn"]["Fn::Sub"]


def test_router_function(doc: Json) -> None:
    function = props(doc, ids.ROUTER_FUNCTION)
    assert function["Handler"] == "lambdas.router.handler.handler"
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    assert function["Code"]["S3Key"] == placeholder_artifacts()["router"].key
    env = function["Environment"]["Variables"]
    assert env[Env.ORIGIN_SECRET_ARN] == {"Ref": ids.ORIGIN_SECRET}
    assert env[Env.PROJECT_BUCKET] == {"Ref": ids.PROJECT_BUCKET}
    assert env[Env.PROJECT_FUNCTION_PREFIX] == names.Names().project_function_prefix
    assert env[Env.STACK] == "battleshiper"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": ids.ROUTER_LOG_GROUP}


def test_router_may_only_invoke_deployment_aliases_and_read_its_own_things(doc: Json) -> None:
    role = props(doc, "RouterFunctionRole")
    (policy,) = role["Policies"]
    grants = {a: s["Resource"] for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert set(grants) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "lambda:InvokeFunction",
        "lambda:ListAliases",
        "s3:GetObject",
        "s3:ListBucket",
        "secretsmanager:GetSecretValue",
    }
    (invoke,) = grants["lambda:InvokeFunction"]
    assert invoke["Fn::Sub"].endswith(":function:battleshiper-srv-*:d-*")
    (aliases,) = grants["lambda:ListAliases"]
    assert aliases["Fn::Sub"].endswith(":function:battleshiper-srv-*")
    assert grants["secretsmanager:GetSecretValue"] == [{"Ref": ids.ORIGIN_SECRET}]
    assert all(resource != "*" for resources in grants.values() for resource in resources)


@pytest.mark.parametrize("logical_id", ["CacheRouteFunction", "ServerRouteFunction"])
def test_edge_functions_read_the_route_store(doc: Json, logical_id: str) -> None:
    function = props(doc, logical_id)
    assert function["AutoPublish"] is True
    config = function["FunctionConfig"]
    assert config["Runtime"] == "cloudfront-js-2.0"
    store_arn = {"Fn::GetAtt": [ids.ROUTE_STORE, "Arn"]}
    assert config["KeyValueStoreAssociations"] == [{"KeyValueStoreARN": store_arn}]
    code, variables = function["FunctionCode"]["Fn::Sub"]
    assert code.startswith("import cf from 'cloudfront';")
    assert variables == {"KvsId": {"Fn::GetAtt": [ids.ROUTE_STORE, "Id"]}, "Domain": {"Ref": "Domain"}}
    assert props(doc, ids.ROUTE_STORE)["Name"] == names.Names().route_store


def test_server_route_selects_the_bucket_origin_by_its_id() -> None:
    assert f"'{edge.STATIC_ORIGIN}'" in cloudfront_functions.source("server-route")


@pytest.mark.parametrize("name", sorted(cloudfront_functions.FUNCTIONS))
def test_edge_functions_stay_well_under_cloudfronts_size_limit(name: str) -> None:
    longest_domain = ("a" * 63 + ".") * 3 + "a" * 8
    size = cloudfront_functions.rendered_size(name, "00000000-0000-4000-8000-000000000000", longest_domain)
    assert size < cloudfront_functions.SIZE_LIMIT * 0.75


def test_outputs(doc: Json) -> None:
    outputs = doc["Outputs"]
    cdn_host = {"Fn::GetAtt": [ids.PROJECT_DISTRIBUTION, "DomainName"]}
    assert outputs[ids.OUTPUT_PROJECT_CDN_HOST]["Value"] == cdn_host
    assert outputs[ids.OUTPUT_PROJECT_BUCKET]["Value"] == {"Ref": ids.PROJECT_BUCKET}


def test_two_installations_do_not_share_global_names() -> None:
    def global_names(stack: str) -> set[str]:
        doc = json.loads(build(stack).to_json())
        found = set()
        for resource in doc["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Alias":  # `live` is scoped to its function
                continue
            p = resource.get("Properties", {})
            nested = (v.get("Name") for k, v in p.items() if k.endswith("Config") and isinstance(v, dict))
            for value in (p.get("Name"), p.get("FunctionName"), *nested):
                if isinstance(value, str):
                    found.add(value)
        return found

    first, second = global_names("one-stack"), global_names("two-stack")
    assert first and not first & second


def test_loader_refuses_substitutions_cloudformation_would_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prelude = "import cf from 'cloudfront';\nconst a = '${KvsId}';\n"
    (tmp_path / cloudfront_functions.PRELUDE).write_text(prelude)
    (tmp_path / "cache_route.js").write_text("const b = `${!literal}`;\n")
    (tmp_path / "server_route.js").write_text("const c = '${Bucket}';\n")
    monkeypatch.setattr(cloudfront_functions, "SOURCE_DIR", tmp_path)
    assert cloudfront_functions.render("cache-route", "id-1", "x.example") == (
        prelude.replace("${KvsId}", "id-1") + "const b = `${literal}`;\n"
    )
    with pytest.raises(ValueError, match="Bucket"):
        cloudfront_functions.source("server-route")
