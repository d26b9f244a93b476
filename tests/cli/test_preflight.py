"""Preflight: every failed check is named, exit code 2, and nothing is created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from battleshiper_cli.preflight import covers, parse_github_secret, stack_check
from tests.cli.fakes import DOMAIN, World, _key_pem, aws_world, github_secret, issued_certificate, setup_args

runner = CliRunner()


def invoke(args: list[str]) -> Any:
    from battleshiper_cli.main import app

    return runner.invoke(app, args)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with aws_world(monkeypatch, tmp_path) as w:
        yield w


def assert_nothing_created(world: World) -> None:
    assert not [b for b in world.buckets() if "artifacts" in b]
    assert world.cfn.count("CreateChangeSet") == 0 and world.cfn.count("ExecuteChangeSet") == 0


def test_bad_parameters_name_every_failed_check_and_touch_nothing(world: World) -> None:
    result = invoke(setup_args(
        domain="Ship.Example.com.",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
        wildcard_certificate_arn="not-an-arn",
        github_secret_arn="battleshiper-github",
        admin="-octocat",
    ))
    assert result.exit_code == 2
    summary = result.output.split("preflight failed:", 1)[1]
    for name in ("domain", "certificate ARN", "wildcard certificate ARN", "GitHub secret ARN",
                 "admin GitHub user"):
        assert name in summary
    assert "in us-east-1" in result.output
    assert world.cfn.calls == []  # not even a read: the parameters are refused first
    assert_nothing_created(world)


def test_certificates_must_be_issued_and_cover_the_domain(world: World) -> None:
    acm = boto3.client("acm", region_name="us-east-1")
    pending = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    wrong = issued_certificate("*.example.com")  # one label too high: does not cover *.ship.example.com
    result = invoke(setup_args(certificate_arn=pending, wildcard_certificate_arn=wrong))
    assert result.exit_code == 2
    assert f"certificate for {DOMAIN}" in result.output and "PENDING_VALIDATION" in result.output
    assert f"covers *.example.com, not *.{DOMAIN}" in result.output
    assert_nothing_created(world)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("not json", "is not JSON"),
        (json.dumps({"client_id": "a"}), "lacks client_secret, app_id, app_secret, webhook_secret"),
        (None, "app_secret is not a PEM private key"),
        ("ec", "app_secret is not an RSA private key"),
    ],
)
def test_github_secret_problems_are_named(world: World, secret: str | None, problem: str) -> None:
    region = "eu-west-1"
    if secret is None:
        arn = github_secret(region, app_secret="MIIEpAIBAAKCAQEA...")  # body without the PEM lines
    elif secret == "ec":
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
        ).decode()
        arn = github_secret(region, app_secret=pem)
    else:
        sm = boto3.client("secretsmanager", region_name=region)
        arn = sm.create_secret(Name="gh", SecretString=secret)["ARN"]
    result = invoke(setup_args(github_secret_arn=arn))
    assert result.exit_code == 2
    assert "GitHub App secret" in result.output and problem in result.output
    assert_nothing_created(world)


def test_taken_route_store_name_fails_setup(world: World) -> None:
    boto3.client("cloudfront", region_name="us-east-1").create_key_value_store(Name="battleshiper-routes")
    result = invoke(setup_args())
    assert result.exit_code == 2
    assert "route store name free" in result.output
    assert_nothing_created(world)


def test_missing_credentials_fail_the_credentials_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf"
    result = invoke(setup_args(certificate_arn=arn, wildcard_certificate_arn=arn, github_secret_arn=secret))
    assert result.exit_code == 2
    assert "preflight failed: credentials" in result.output


def test_wildcard_coverage() -> None:
    assert covers(["ship.example.com"], "ship.example.com")
    assert covers(["x.org", "*.example.com"], "ship.example.com")
    assert covers(["*.ship.example.com"], "*.ship.example.com")
    assert covers(["SHIP.example.com"], "ship.example.com")
    assert not covers(["*.example.com"], "*.ship.example.com")
    assert not covers(["*.example.com"], "a.ship.example.com")
    assert not covers(["*.ship.example.com"], "ship.example.com")


def test_a_pem_with_its_lines_is_accepted() -> None:
    valid = {"client_id": "a", "client_secret": "b", "app_id": "1", "webhook_secret": "w",
             "app_secret": _key_pem()}
    assert parse_github_secret(json.dumps(valid)) is None


@pytest.mark.parametrize(
    ("status", "ok", "says"),
    [
        ("UPDATE_COMPLETE", True, "UPDATE_COMPLETE"),
        ("UPDATE_ROLLBACK_COMPLETE", True, "UPDATE_ROLLBACK_COMPLETE"),
        ("UPDATE_IN_PROGRESS", False, "busy"),
        ("ROLLBACK_COMPLETE", False, "battleshiper delete"),
        ("UPDATE_ROLLBACK_FAILED", False, "continue-update-rollback"),
        ("DELETE_FAILED", False, "DELETE_FAILED"),
        ("REVIEW_IN_PROGRESS", False, "battleshiper setup"),
    ],
)
def test_update_needs_a_stable_stack(status: str, ok: bool, says: str) -> None:
    check = stack_check({"StackStatus": status}, "update", "battleshiper")
    assert check.ok is ok and says in check.detail


def test_update_without_a_stack_points_to_setup() -> None:
    check = stack_check(None, "update", "battleshiper")
    assert not check.ok and "battleshiper setup" in check.detail
