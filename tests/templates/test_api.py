"""The platform API (templates/api.py) as an operator would meet it in the rendered platform template."""

from __future__ import annotations

from typing import Any

from troposphere import Template

from lambdas.shared.names import Names
from templates import ids, internal
from templates.config import PlatformConfig, placeholder_artifacts
from templates.parameters import add_parameters
from templates.platform import add_dependency_layer
from tests.support.rendered import function_named, of_type, props, statements

NAMES = Names()


def test_every_api_prefix_and_the_dashboard_have_a_route_integration_and_scoped_permission(
    platform: Any,
) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in of_type(platform, "AWS::ApiGatewayV2::Route").values()
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
    integrations = of_type(platform, "AWS::ApiGatewayV2::Integration")
    permissions = [p["Properties"] for p in of_type(platform, "AWS::Lambda::Permission").values()]
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
        "Fn::GetAtt": [function_named(platform, NAMES.function("api-webhook")), "Arn"]
    }
    # The dashboard is reached through its `live` alias, never the unpublished function.
    for key in ("ANY /{proxy+}", "ANY /"):
        integration_id = routes[key]["Target"]["Fn::Join"][1][1]["Ref"]
        assert integrations[integration_id]["Properties"]["IntegrationUri"] == {"Ref": ids.DASHBOARD_ALIAS}


def test_api_functions_run_the_documented_handlers_on_arm64(platform: Any) -> None:
    handlers = {
        v["Properties"]["Handler"]: v["Properties"]
        for v in of_type(platform, "AWS::Lambda::Function").values()
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


def test_least_privilege_of_the_api_functions(platform: Any) -> None:
    def actions(role: str) -> set[str]:
        return {a for s in statements(platform, role) for a in s["Action"]}

    def secrets(role: str) -> list[Any]:
        return [
            r
            for s in statements(platform, role)
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
    # GitHub tokens: decrypted only where GitHub is asked with the user's token (issue 13: sign-in, the
    # project API and the webhook's builds), and only with the token key.
    assert "kms:Decrypt" not in actions("ApiUserFunctionRole") | actions("ApiAdminFunctionRole")
    for role in ("ApiAuthFunctionRole", "ApiResourceFunctionRole", "ApiWebhookFunctionRole"):
        kms = [s for s in statements(platform, role) if any(a.startswith("kms:") for a in s["Action"])]
        assert [s["Resource"] for s in kms] == [[{"Fn::GetAtt": [ids.TOKEN_KEY, "Arn"]}]], role
    assert "dynamodb:PutItem" not in actions("ApiUserFunctionRole")
    # Rollback goes live like a deploy: `live` moved, or created (and removed on failure) if missing.
    lambda_actions = {a for a in actions("ApiResourceFunctionRole") if a.startswith("lambda:")}
    assert lambda_actions == {
        "lambda:GetAlias", "lambda:UpdateAlias", "lambda:CreateAlias", "lambda:DeleteAlias"
    }
    # Nothing is granted on every resource (log reads use FilterLogEvents on the groups).
    mine = internal_logical_ids(PlatformConfig(artifacts=placeholder_artifacts()))
    internal_roles = [
        r for r in of_type(platform, "AWS::IAM::Role") if r in mine and "Policies" in props(platform, r)
    ]
    wildcard = {
        a
        for r in internal_roles
        for s in statements(platform, r)
        if "*" in s["Resource"]
        for a in s["Action"]
    }
    assert wildcard == set()


def internal_logical_ids(config: PlatformConfig) -> set[str]:
    t = Template()
    add_parameters(t)
    add_dependency_layer(t, config)
    before = set(t.resources)
    internal.add(t, config)
    return set(t.resources) - before


def test_both_http_api_stages_are_throttled_by_the_operators_parameters(platform: Any) -> None:
    resources = platform["Resources"].items()
    stages = {name: r["Properties"] for name, r in resources if r["Type"] == "AWS::ApiGatewayV2::Stage"}
    assert stages["ApiDefaultStage"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
    }
    assert stages["RouterApiStage"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ProjectThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "ProjectThrottleBurst"},
    }
    assert len(stages) == 2
