"""A function's Version is replaced (a version published, the dashboard released) exactly when what the
version holds changes: code or any configuration, also a parameter such as the domain."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from troposphere import Parameter, Ref, Tags, Template
from troposphere.awslambda import Code, Environment, Function

from templates import ids
from templates.config import Artifact, PlatformConfig, placeholder_artifacts
from templates.parameters import DOMAIN_PATTERN
from templates.platform import build_platform_template
from templates.versions import published_version

CONFIG = PlatformConfig(artifacts=placeholder_artifacts())
BASE: dict[str, Any] = {
    "FunctionName": "f",
    "Handler": "index.handler",
    "Role": "arn:aws:iam::123456789012:role/r",
    "Runtime": "nodejs22.x",
    "MemorySize": 512,
    "Timeout": 10,
    "Architectures": ["arm64"],
    "Code": Code(S3Bucket=Ref("ArtifactsBucket"), S3Key="dashboard-server/1.zip"),
    "Environment": Environment(Variables={"DOMAIN": "a.example.com"}),
}


def version(config: PlatformConfig = CONFIG, **changes: Any) -> dict[str, Any]:
    t = Template()
    t.add_parameter(Parameter("ArtifactsBucket", Type="String"))
    t.add_parameter(Parameter("Domain", Type="String"))
    function = t.add_resource(Function("Fn", **{**BASE, **changes}))
    published_version(t, config, "FnVersion", function)
    rendered = json.loads(t.to_json())
    resources = rendered["Resources"]
    (found,) = [{"id": k, **v} for k, v in resources.items() if v["Type"] == "AWS::Lambda::Version"]
    return found


def test_the_same_function_gives_the_same_version_id() -> None:
    assert version()["id"] == version()["id"]


@pytest.mark.parametrize(
    "change",
    [
        {"Environment": Environment(Variables={"DOMAIN": "b.example.com"})},
        {"Code": Code(S3Bucket=Ref("ArtifactsBucket"), S3Key="dashboard-server/2.zip")},
        {"Runtime": "nodejs24.x"},
        {"MemorySize": 1024},
        {"Timeout": 30},
        {"Architectures": ["x86_64"]},
        {"Layers": [Ref("DependencyLayer")]},
        {"Handler": "other.handler"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_change_of_code_or_configuration_gives_a_new_version_id(change: dict[str, Any]) -> None:
    assert version(**change)["id"] != version()["id"]


def test_new_layer_content_gives_a_new_version_id() -> None:
    layered = {"Layers": [Ref("DependencyLayer")]}
    layer = Artifact(key="layer/" + "9" * 64 + ".zip", sha256="9" * 64)
    other = PlatformConfig(artifacts={**placeholder_artifacts(), "layer": layer})
    assert version(other, **layered)["id"] != version(**layered)["id"]


def test_tags_are_no_version_change() -> None:
    # A tag does not change $LATEST: replacing the Version then would fail to publish.
    assert version(Tags=Tags(team="x"))["id"] == version()["id"]


def test_parameters_of_the_configuration_are_in_the_description() -> None:
    # The domain is a parameter: a new value is no template change, but it changes the description.
    environment = Environment(Variables={"DOMAIN": Ref("Domain")})
    description = version(Environment=environment)["Properties"]["Description"]["Fn::Sub"]
    assert "${Domain}" in description
    assert "${ArtifactsBucket}" not in description  # the code key is content addressed


def dashboard_version(config: PlatformConfig) -> tuple[str, dict[str, Any]]:
    template = json.loads(build_platform_template(config).to_json())
    (found,) = [(k, v) for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"]
    assert template["Resources"][ids.DASHBOARD_ALIAS]["Properties"]["FunctionVersion"] == {
        "Fn::GetAtt": [found[0], "Version"]
    }
    return found


def test_the_dashboard_publishes_a_version_for_a_configuration_only_change() -> None:
    same, _ = dashboard_version(CONFIG)
    assert dashboard_version(PlatformConfig(artifacts=placeholder_artifacts()))[0] == same
    assert dashboard_version(CONFIG.model_copy(update={"node_runtime": "nodejs24.x"}))[0] != same


def test_a_new_domain_replaces_the_dashboard_version_and_its_description_fits() -> None:
    _, resource = dashboard_version(CONFIG)
    description = resource["Properties"]["Description"]["Fn::Sub"]
    assert "${Domain}" in description
    longest = int(re.search(r"\{4,(\d+)\}", DOMAIN_PATTERN).group(1))  # type: ignore[union-attr]
    assert len(description.replace("${Domain}", "d" * longest)) <= 256
