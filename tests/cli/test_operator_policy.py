"""`battleshiper setup --print-operator-policy`: the IAM policy for the operator's credentials, printed
without AWS access: the CLI's own calls scoped to the stack, plus CloudFormation's handler permissions
for the platform template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from battleshiper_cli import handler_permissions as hp
from battleshiper_cli.main import app
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from tests.cli.runner import Runner
from tests.support.action_match import allowing

runner = Runner()
VIA_CLOUDFORMATION = {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, no configuration, and any attempt at a session fails the test."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("printing the operator policy opened an AWS session")

    monkeypatch.setattr(boto3.session, "Session", refuse)


def policy(*global_options: str) -> dict[str, Any]:
    # No setup parameters: the flag is handled before the required options are looked at.
    result = runner.invoke(app, [*global_options, "setup", "--print-operator-policy"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def resources_for(document: dict[str, Any], action: str) -> list[str]:
    """Where the CLI itself may call `action` (not counting calls CloudFormation makes for it)."""
    direct = [s for s in document["Statement"] if s.get("Condition") != VIA_CLOUDFORMATION]
    return [r for s in allowing(direct, action) for r in s["Resource"]]


def test_prints_a_valid_policy_document_without_aws_access() -> None:
    document = policy("--stack-name", "ship")
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)
    for s in document["Statement"]:
        assert s["Effect"] == "Allow"
        assert s["Action"] == sorted(set(s["Action"])) and s["Resource"]
    assert policy("--stack-name", "ship") == document  # deterministic


def test_cli_calls_are_scoped_to_the_stack_given() -> None:
    document = policy("--stack-name", "ship")
    for action in ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"):
        assert resources_for(document, action) == [
            "arn:aws:cloudformation:*:*:stack/ship/*", "arn:aws:cloudformation:*:*:changeSet/ship-*/*"]
    assert resources_for(document, "cloudformation:UpdateStack") == [
        "arn:aws:cloudformation:*:*:stack/ship-project-*/*"]
    assert resources_for(document, "s3:CreateBucket") == ["arn:aws:s3:::ship-artifacts-*-*"]
    assert resources_for(document, "s3:PutObject") == ["arn:aws:s3:::ship-*/*"]
    assert resources_for(document, "secretsmanager:GetSecretValue") == [
        "arn:aws:secretsmanager:*:*:secret:ship-github*", "arn:aws:secretsmanager:*:*:secret:ship/*"]
    assert resources_for(document, "iam:PassRole") == ["arn:aws:iam::*:role/ship-ProjectStackRole-*"]
    assert "battleshiper" not in json.dumps(document)
    assert "stack/battleshiper/*" in json.dumps(policy())  # the default stack name


def test_holds_the_platform_templates_handler_permissions_on_calls_via_cloudformation() -> None:
    document = policy()
    config = PlatformConfig(artifacts=placeholder_artifacts())
    needed = hp.union(hp.template_permissions(build_platform_template(config).to_dict()))
    assert "lambda:GetFunctionCodeSigningConfig" in needed
    assert [a for a in needed if not allowing(document["Statement"], a)] == []
    for s in document["Statement"]:
        if s["Sid"].startswith("CloudFormation"):
            assert s["Resource"] == ["*"] and s["Condition"] == VIA_CLOUDFORMATION, s["Sid"]
    # Anything granted on "*" without that condition is a read.
    unconditioned = [a for s in document["Statement"] if "Condition" not in s and "*" in s["Resource"]
                     for a in s["Action"]]
    assert unconditioned and all(a.split(":")[1].startswith(("Describe", "List")) for a in unconditioned)


def test_partition_follows_the_region() -> None:
    text = json.dumps(policy("--region", "cn-north-1"))
    assert "arn:aws-cn:cloudformation:" in text and "arn:aws:" not in text


def test_setup_help_documents_the_option() -> None:
    result = runner.invoke(app, ["setup", "--help"])
    assert result.exit_code == 0
    assert "--print-operator-policy" in result.output and "least-privilege" in result.output
