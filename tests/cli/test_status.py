"""`battleshiper status` against moto's CloudFormation: state, outputs, artifact versions and the project
stacks behind the current project template."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator

import boto3
import pytest

from battleshiper_cli.main import app
from tests.cli.project_support import (
    CURRENT_TEMPLATE,
    DOMAIN,
    OLD_TEMPLATE,
    REGION,
    STACK,
    World,
    platform_template,
    platform_world,
)
from tests.cli.runner import Runner

runner = Runner()
ARTIFACTS_BUCKET = "battleshiper-artifacts-123456789012-us-east-1"


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[World, dict[str, str]]]:
    """A platform whose template runs a layer and an API function from content-addressed keys."""
    with pytest.MonkeyPatch.context() as monkeypatch, platform_world(monkeypatch, create_stack=False) as w:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
        keys = {}
        for artifact in ("layer", "api"):
            data = zipped(f"# {artifact}")
            keys[artifact] = f"{artifact}/{hashlib.sha256(data).hexdigest()}.zip"
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=keys[artifact], Body=data)
        keys["project-template"] = f"project-template/{CURRENT_TEMPLATE}.json"
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        template = platform_template()
        template["Resources"] |= {
            "DependencyLayer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {
                "Content": {"S3Bucket": ARTIFACTS_BUCKET, "S3Key": keys["layer"]}}},
            "ApiFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": f"{STACK}-api", "Runtime": "python3.13", "Handler": "index.handler",
                "Role": role, "Code": {"S3Bucket": ARTIFACTS_BUCKET, "S3Key": keys["api"]}}},
        }
        w.cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template),
                           Parameters=[{"ParameterKey": "Domain", "ParameterValue": DOMAIN}])
        w.add_project_stack("blog", CURRENT_TEMPLATE)
        w.add_project_stack("docs", OLD_TEMPLATE)
        yield w, keys


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--region", REGION, *args], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_status_reports_state_outputs_artifacts_and_project_stacks_behind(
    world: tuple[World, dict[str, str]],
) -> None:
    _, keys = world
    code, out = run("--output", "json", "status")
    assert code == 0, out
    status = json.loads(out)
    assert status["stack"] == STACK
    assert status["status"] == "CREATE_COMPLETE"
    assert status["parameters"]["Domain"] == DOMAIN
    assert status["outputs"]["ProjectTemplateHash"] == CURRENT_TEMPLATE
    assert status["artifacts"] == {"layer": keys["layer"], "api": keys["api"],
                                   "project-template": keys["project-template"]}
    projects = {p["project"]: p for p in status["projects"]}
    assert projects["blog"]["behind"] is False
    assert projects["docs"]["behind"] is True
    assert projects["docs"]["template_hash"] == OLD_TEMPLATE
    assert status["projects_behind"] == ["battleshiper-project-docs"]


def test_status_as_text(world: tuple[World, dict[str, str]]) -> None:
    _, keys = world
    code, out = run("status")
    assert code == 0, out
    for text in ("CREATE_COMPLETE", DOMAIN, keys["api"], "battleshiper-project-docs", "behind", "current",
                 "1 project stack(s) run an older project template"):
        assert text in out


def test_status_help_documents_the_exit_codes() -> None:
    result = runner.invoke(app, ["status", "--help"])
    assert result.exit_code == 0
    assert "2 no platform stack" in result.output
    result = runner.invoke(app, ["project", "--help"])
    assert "1 no such project" in result.output
    assert "2 no platform stack" in result.output
