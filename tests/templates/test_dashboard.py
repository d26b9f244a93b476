"""The dashboard (templates/dashboard.py) as an operator would meet it in the rendered platform template."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared.names import Env
from templates import dashboard, ids
from templates.config import Artifact, PlatformConfig, placeholder_artifacts
from tests.support.rendered import of_type, props, render, statements


def test_the_live_alias_is_released_through_codedeploy_with_both_hooks(platform: Any) -> None:
    alias = platform["Resources"][ids.DASHBOARD_ALIAS]
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert alias["Properties"]["Name"] == "live"
    assert platform["Resources"][update["ApplicationName"]["Ref"]]["Type"] == "AWS::CodeDeploy::Application"
    group = props(platform, update["DeploymentGroupName"]["Ref"])
    assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    assert group["DeploymentStyle"] == {
        "DeploymentType": "BLUE_GREEN",
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert "DEPLOYMENT_FAILURE" in group["AutoRollbackConfiguration"]["Events"]
    assert (
        props(platform, update["BeforeAllowTrafficHook"]["Ref"])["Handler"]
        == "lambdas.hooks.pre_traffic.handler"
    )
    assert (
        props(platform, update["AfterAllowTrafficHook"]["Ref"])["Handler"]
        == "lambdas.hooks.post_traffic.handler"
    )
    service_role = props(platform, group["ServiceRoleArn"]["Fn::GetAtt"][0])
    assert service_role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"}
    ]


def version_id(platform: dict[str, Any]) -> str:
    (version,) = of_type(platform, "AWS::Lambda::Version")
    assert props(platform, ids.DASHBOARD_ALIAS)["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    return version


def test_a_new_dashboard_build_publishes_a_new_version_and_an_unchanged_one_does_not(platform: Any) -> None:
    def with_artifact(name: str, digest: str) -> PlatformConfig:
        artifacts = {**placeholder_artifacts(), name: Artifact(key=f"{name}/{digest}.zip", sha256=digest)}
        return PlatformConfig(artifacts=artifacts)

    unchanged = version_id(render())
    assert unchanged == version_id(platform)
    assert version_id(render(with_artifact("dashboard-server", "1" * 64))) != unchanged
    # New static files alone also make a release, so the pre-traffic hook uploads them.
    assets_only = render(with_artifact("dashboard-assets", "2" * 64))
    assert version_id(assets_only) != unchanged
    assert (
        props(assets_only, ids.DASHBOARD_FUNCTION)["Description"]
        != props(platform, ids.DASHBOARD_FUNCTION)["Description"]
    )


def test_dashboard_bucket_serves_only_this_distribution_and_only_over_tls(platform: Any) -> None:
    bucket = props(platform, ids.DASHBOARD_BUCKET)
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (policy,) = [
        p
        for p in of_type(platform, "AWS::S3::BucketPolicy").values()
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


def test_distribution_routes_known_static_paths_to_s3_and_the_rest_to_the_api(platform: Any) -> None:
    config = props(platform, ids.DASHBOARD_DISTRIBUTION)["DistributionConfig"]
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
    # The API can tell CloudFront's requests from direct calls to its public endpoint; behind the secret,
    # the forwarded host is the dashboard's own (a viewer's copy is overwritten).
    assert api_origin["OriginCustomHeaders"] == [
        {
            "HeaderName": "x-battleshiper-origin-secret",
            "HeaderValue": {
                "Fn::Sub": f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"
            },
        },
        {"HeaderName": "x-forwarded-host", "HeaderValue": {"Ref": "Domain"}},
    ]
    assert set(default["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    forwarded = props(platform, default["OriginRequestPolicyId"]["Ref"])["OriginRequestPolicyConfig"]
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["host"]}
    server_cache = props(platform, default["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert server_cache["MaxTTL"] == 0
    # The static cache honours `no-cache` on index.html, so a new release shows at once.
    static_cache = props(platform, behaviours["/"]["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert static_cache["MinTTL"] == 0


def test_the_server_function_knows_the_origin_secret_to_tell_the_cdns_forwarded_host(platform: Any) -> None:
    env = props(platform, ids.DASHBOARD_FUNCTION)["Environment"]["Variables"]
    assert env[Env.ORIGIN_SECRET] == {
        "Fn::Sub": f"{{{{resolve:secretsmanager:${{{ids.ORIGIN_SECRET}}}:SecretString}}}}"
    }


def test_hooks_read_only_assets_artifacts_and_report_only_to_their_deployment_group(platform: Any) -> None:
    assets_key = placeholder_artifacts()["dashboard-assets"].key
    pre = statements(platform, "DashboardPreTrafficHookRole")
    reads = [s for s in pre if "s3:GetObject" in s["Action"]]
    assert [r["Resource"] for r in reads] == [
        [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactsBucket}/dashboard-assets/*"}]
    ]
    for role in ("DashboardPreTrafficHookRole", "DashboardPostTrafficHookRole"):
        (report,) = [
            s
            for s in statements(platform, role)
            if "codedeploy:PutLifecycleEventHookExecutionStatus" in s["Action"]
        ]
        assert report["Resource"][0]["Fn::Sub"].endswith(
            "deploymentgroup:${DashboardDeployApplication}/${DashboardDeploymentGroup}"
        )
    post = statements(platform, "DashboardPostTrafficHookRole")
    assert not any("s3:GetObject" in s["Action"] for s in post)
    env = props(platform, "DashboardPreTrafficHook")["Environment"]["Variables"]
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


def test_outputs_tell_the_operator_where_the_dashboard_is(platform: Any) -> None:
    outputs = platform["Outputs"]
    assert outputs[ids.OUTPUT_DASHBOARD_URL]["Value"] == {"Fn::Sub": "https://${Domain}"}
    assert outputs[ids.OUTPUT_DASHBOARD_CDN_HOST]["Value"] == {
        "Fn::GetAtt": [ids.DASHBOARD_DISTRIBUTION, "DomainName"]
    }
    assert outputs[ids.OUTPUT_DASHBOARD_BUCKET]["Value"] == {"Ref": ids.DASHBOARD_BUCKET}
