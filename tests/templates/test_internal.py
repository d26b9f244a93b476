"""The internal subsystem as an operator would meet it in the rendered platform template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from troposphere import Template

from lambdas.shared.names import Names
from templates import dashboard, ids, internal
from templates.config import Artifact, PlatformConfig, placeholder_artifacts
from templates.parameters import add_parameters
from templates.platform import add_dependency_layer, build_platform_template

NAMES = Names()


def render(config: PlatformConfig | None = None) -> dict[str, Any]:
    config = config or PlatformConfig(artifacts=placeholder_artifacts())
    rendered: dict[str, Any] = json.loads(build_platform_template(config).to_json())
    return rendered


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return render()


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for p in props(template, role_id)["Policies"] for s in p["PolicyDocument"]["Statement"]]


def function_named(template: dict[str, Any], name: str) -> str:
    return next(
        k
        for k, v in of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == name
    )


def test_every_api_prefix_and_the_dashboard_have_a_route_integration_and_scoped_permission(
    template: Any,
) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in of_type(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": ids.API}
    }
    assert set(routes) == {
        "ANY /api/auth/{proxy+}",
        "ANY /api/user/{proxy+}",
        "ANY /api/resource/{proxy+}",
        "ANY /api/admin/{proxy+}",
        "ANY /api/pipeline/{proxy+}",
        "ANY /{proxy+}",
        "ANY /",
    }
    integrations = of_type(template, "AWS::ApiGatewayV2::Integration")
    permissions = [p["Properties"] for p in of_type(template, "AWS::Lambda::Permission").values()]
    for key, route in routes.items():
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
        target = integration["IntegrationUri"]
        granted = [p for p in permissions if p["FunctionName"] == target]
        assert len(granted) >= 1, key
        path = key.split(" ", 1)[1].replace("{proxy+}", "*")
        assert any(p["SourceArn"]["Fn::Sub"].endswith("${Api}/*/*" + path) for p in granted), key

    webhook = routes["ANY /api/pipeline/{proxy+}"]["Target"]["Fn::Join"][1][1]["Ref"]
    assert integrations[webhook]["Properties"]["IntegrationUri"] == {
        "Fn::GetAtt": [function_named(template, NAMES.function("api-webhook")), "Arn"]
    }
    # The dashboard is reached through its `live` alias, never the unpublished function.
    for key in ("ANY /{proxy+}", "ANY /"):
        integration_id = routes[key]["Target"]["Fn::Join"][1][1]["Ref"]
        assert integrations[integration_id]["Properties"]["IntegrationUri"] == {"Ref": ids.DASHBOARD_ALIAS}


def test_api_functions_run_the_documented_handlers_on_arm64(template: Any) -> None:
    handlers = {
        v["Properties"]["Handler"]: v["Properties"]
        for v in of_type(template, "AWS::Lambda::Function").values()
    }
    for module in ("auth", "user", "resource", "admin", "webhook"):
        function = handlers[f"lambdas.api.{module}.handler"]
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]
    dashboard = handlers["index.handler"]
    assert dashboard["Runtime"] == "nodejs22.x"
    assert "Layers" not in dashboard
    assert handlers["lambdas.hooks.pre_traffic.handler"]["FunctionName"] == NAMES.hook_function("pre-traffic")
    assert handlers["lambdas.hooks.post_traffic.handler"]["FunctionName"].startswith("CodeDeployHook_")


def test_the_live_alias_is_released_through_codedeploy_with_both_hooks(template: Any) -> None:
    alias = template["Resources"][ids.DASHBOARD_ALIAS]
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert alias["Properties"]["Name"] == "live"
    assert template["Resources"][update["ApplicationName"]["Ref"]]["Type"] == "AWS::CodeDeploy::Application"
    group = props(template, update["DeploymentGroupName"]["Ref"])
    assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    assert group["DeploymentStyle"] == {
        "DeploymentType": "BLUE_GREEN",
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert "DEPLOYMENT_FAILURE" in group["AutoRollbackConfiguration"]["Events"]
    assert (
        props(template, update["BeforeAllowTrafficHook"]["Ref"])["Handler"]
        == "lambdas.hooks.pre_traffic.handler"
    )
    assert (
        props(template, update["AfterAllowTrafficHook"]["Ref"])["Handler"]
        == "lambdas.hooks.post_traffic.handler"
    )
    service_role = props(template, group["ServiceRoleArn"]["Fn::GetAtt"][0])
    assert service_role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"}
    ]


def version_id(template: dict[str, Any]) -> str:
    (version,) = of_type(template, "AWS::Lambda::Version")
    assert props(template, ids.DASHBOARD_ALIAS)["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    return version


def test_a_new_dashboard_build_publishes_a_new_version_and_an_unchanged_one_does_not(template: Any) -> None:
    def with_artifact(name: str, digest: str) -> PlatformConfig:
        artifacts = {**placeholder_artifacts(), name: Artifact(key=f"{name}/{digest}.zip", sha256=digest)}
        return PlatformConfig(artifacts=artifacts)

    unchanged = version_id(render())
    assert unchanged == version_id(template)
    assert version_id(render(with_artifact("dashboard-server", "1" * 64))) != unchanged
    # New static files alone also make a release, so the pre-traffic hook uploads them.
    assets_only = render(with_artifact("dashboard-assets", "2" * 64))
    assert version_id(assets_only) != unchanged
    assert (
        props(assets_only, ids.DASHBOARD_FUNCTION)["Description"]
        != props(template, ids.DASHBOARD_FUNCTION)["Description"]
    )


def test_dashboard_bucket_serves_only_this_distribution_and_only_over_tls(template: Any) -> None:
    bucket = props(template, ids.DASHBOARD_BUCKET)
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (policy,) = [
        p
        for p in of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": ids.DASHBOARD_BUCKET}
    ]
    document = policy["Properties"]["PolicyDocument"]["Statement"]
    reads = [s for s in document if s["Effect"] == "Allow" and "s3:GetObject" in s["Action"]]
    assert reads and all(s["Principal"] == {"Service": ["cloudfront.amazonaws.com"]} for s in reads)
    for statement in (s for s in document if s["Effect"] == "Allow"):
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
        assert source.endswith(f"distribution/${{{ids.DASHBOARD_DISTRIBUTION}}}")
    (deny,) = [s for s in document if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_distribution_routes_known_static_paths_to_s3_and_the_rest_to_the_api(template: Any) -> None:
    config = props(template, ids.DASHBOARD_DISTRIBUTION)["DistributionConfig"]
    assert config["Aliases"] == [{"Ref": "Domain"}]
    assert config["DefaultRootObject"] == "index.html"
    assert config["HttpVersion"] == "http2and3"
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": {"Ref": "CertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    origins = {o["Id"]: o for o in config["Origins"]}
    s3_origin = next(i for i, o in origins.items() if "S3OriginConfig" in o)
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert {"/", "/_app/*", "/robots.txt"} <= set(behaviours)
    assert not any("*.*" in pattern for pattern in behaviours)  # a dot does not make a path static
    assert all(b["TargetOriginId"] == s3_origin for b in behaviours.values())
    default = config["DefaultCacheBehavior"]
    api_origin = origins[default["TargetOriginId"]]
    assert api_origin["DomainName"] == {"Fn::Sub": "${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    # The API can tell CloudFront's requests from direct calls to its public endpoint.
    assert api_origin["OriginCustomHeaders"] == [
        {
            "HeaderName": "x-battleshiper-origin-secret",
            "HeaderValue": {
                "Fn::Sub": f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"
            },
        }
    ]
    assert set(default["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    forwarded = props(template, default["OriginRequestPolicyId"]["Ref"])["OriginRequestPolicyConfig"]
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["host"]}
    server_cache = props(template, default["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert server_cache["MaxTTL"] == 0
    # The static cache honours `no-cache` on index.html, so a new release shows at once.
    static_cache = props(template, behaviours["/"]["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert static_cache["MinTTL"] == 0


def test_tables_keep_user_data_and_expire_nonces(template: Any) -> None:
    tables = {t["Properties"]["TableName"]: t for t in of_type(template, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {
        NAMES.table(kind) for kind in ("users", "projects", "subscriptions", "deployments", "nonces")
    }
    for name, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert "OnDemandThroughput" not in json.dumps(properties)
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        retained = name != NAMES.table("nonces")
        assert (table.get("DeletionPolicy") == "Retain") is retained, name
        assert (table.get("UpdateReplacePolicy") == "Retain") is retained, name
    nonces = tables[NAMES.table("nonces")]["Properties"]
    assert nonces["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    deployments = tables[NAMES.table("deployments")]["Properties"]["KeySchema"]
    assert deployments == [
        {"AttributeName": "project_name", "KeyType": "HASH"},
        {"AttributeName": "deployment_id", "KeyType": "RANGE"},
    ]
    users = tables[NAMES.table("users")]["Properties"]
    assert {"AttributeName": "installation_id", "AttributeType": "N"} in users["AttributeDefinitions"]


def test_hooks_read_only_assets_artifacts_and_report_only_to_their_deployment_group(template: Any) -> None:
    assets_key = placeholder_artifacts()["dashboard-assets"].key
    pre = statements(template, "DashboardPreTrafficHookRole")
    reads = [s for s in pre if "s3:GetObject" in s["Action"]]
    assert [r["Resource"] for r in reads] == [
        [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactsBucket}/dashboard-assets/*"}]
    ]
    for role in ("DashboardPreTrafficHookRole", "DashboardPostTrafficHookRole"):
        (report,) = [
            s
            for s in statements(template, role)
            if "codedeploy:PutLifecycleEventHookExecutionStatus" in s["Action"]
        ]
        assert report["Resource"][0]["Fn::Sub"].endswith(
            "deploymentgroup:${DashboardDeployApplication}/${DashboardDeploymentGroup}"
        )
    post = statements(template, "DashboardPostTrafficHookRole")
    assert not any("s3:GetObject" in s["Action"] for s in post)
    env = props(template, "DashboardPreTrafficHook")["Environment"]["Variables"]
    assert env["DASHBOARD_ASSETS_KEY"] == assets_key


def test_the_pre_traffic_hook_grant_does_not_change_with_the_release() -> None:
    # Rewritten in the update that runs the hook, a per-release grant may not have reached S3 yet.
    digest = "7" * 64
    artifacts = {**placeholder_artifacts(),
                 "dashboard-assets": Artifact(key=f"dashboard-assets/{digest}.zip", sha256=digest)}
    released = render(PlatformConfig(artifacts=artifacts))
    policy = json.dumps(props(released, "DashboardPreTrafficHookRole")["Policies"])
    assert digest not in policy and dashboard.release_hash(PlatformConfig(artifacts=artifacts)) not in policy
    assert policy == json.dumps(props(render(), "DashboardPreTrafficHookRole")["Policies"])
    env = props(released, "DashboardPreTrafficHook")["Environment"]["Variables"]
    assert env["DASHBOARD_ASSETS_KEY"] == f"dashboard-assets/{digest}.zip"


def test_least_privilege_of_the_api_functions(template: Any) -> None:
    def actions(role: str) -> set[str]:
        return {a for s in statements(template, role) for a in s["Action"]}

    def secrets(role: str) -> list[Any]:
        return [
            r
            for s in statements(template, role)
            if "secretsmanager:GetSecretValue" in s["Action"]
            for r in s["Resource"]
        ]

    # The webhook never sees a session; the user and admin functions never call GitHub (defect 17).
    assert {"Ref": ids.SESSION_KEY_SECRET} not in secrets("ApiWebhookFunctionRole")
    assert {"Ref": "GitHubSecretArn"} not in secrets("ApiUserFunctionRole")
    assert {"Ref": "GitHubSecretArn"} not in secrets("ApiAdminFunctionRole")
    assert "kms:Decrypt" in actions("ApiAuthFunctionRole")
    assert "cloudfront-keyvaluestore:UpdateKeys" in actions("ApiResourceFunctionRole")
    assert "cloudfront-keyvaluestore:UpdateKeys" not in actions("ApiAdminFunctionRole")
    assert "logs:FilterLogEvents" in actions("ApiAdminFunctionRole")
    assert "logs:StartQuery" not in actions("ApiAdminFunctionRole") | actions("ApiResourceFunctionRole")
    assert "kms:Decrypt" not in actions("ApiResourceFunctionRole") | actions("ApiUserFunctionRole")
    assert "dynamodb:PutItem" not in actions("ApiUserFunctionRole")
    # Rollback goes live like a deploy: `live` moved, or created (and removed on failure) if missing.
    lambda_actions = {a for a in actions("ApiResourceFunctionRole") if a.startswith("lambda:")}
    assert lambda_actions == {
        "lambda:GetAlias", "lambda:UpdateAlias", "lambda:CreateAlias", "lambda:DeleteAlias"
    }
    # Nothing is granted on every resource (log reads use FilterLogEvents on the groups).
    mine = internal_logical_ids(PlatformConfig(artifacts=placeholder_artifacts()))
    internal_roles = [
        r for r in of_type(template, "AWS::IAM::Role") if r in mine and "Policies" in props(template, r)
    ]
    wildcard = {
        a
        for r in internal_roles
        for s in statements(template, r)
        if "*" in s["Resource"]
        for a in s["Action"]
    }
    assert wildcard == set()


def test_outputs_tell_the_operator_where_the_dashboard_is(template: Any) -> None:
    outputs = template["Outputs"]
    assert outputs[ids.OUTPUT_DASHBOARD_URL]["Value"] == {"Fn::Sub": "https://${Domain}"}
    assert outputs[ids.OUTPUT_DASHBOARD_CDN_HOST]["Value"] == {
        "Fn::GetAtt": [ids.DASHBOARD_DISTRIBUTION, "DomainName"]
    }
    assert outputs[ids.OUTPUT_DASHBOARD_BUCKET]["Value"] == {"Ref": ids.DASHBOARD_BUCKET}


def internal_logical_ids(config: PlatformConfig) -> set[str]:
    t = Template()
    add_parameters(t)
    add_dependency_layer(t, config)
    before = set(t.resources)
    internal.add(t, config)
    return set(t.resources) - before

