"""Preflight: every failed check is named, exit code 2, and nothing is created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from battleshiper_cli import zones
from battleshiper_cli.preflight import build_zones_check, covers, parse_github_secret, stack_check
from tests.cli.fakes import DOMAIN, World, _key_pem, aws_world, github_secret, issued_certificate, setup_args
from tests.cli.runner import Runner

runner = Runner()


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


def created_parameters(world: World) -> dict[str, str]:
    (create,) = [kw for op, kw in world.cfn.calls if op == "CreateChangeSet"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in create["Parameters"]}


def test_a_region_with_two_fargate_zones_builds_in_those_two(world: World) -> None:
    result = invoke(setup_args(region="us-west-1"))  # moto gives this account two zones there, as AWS does
    assert result.exit_code == 0, result.output
    assert "build zones" in result.output and "us-west-1a (usw1-az3), us-west-1b (usw1-az1)" in result.output
    assert created_parameters(world)["BuildSubnetZones"] == "us-west-1a,us-west-1b"


def test_at_most_three_zones_are_used(world: World) -> None:
    result = invoke(setup_args(region="us-east-1"))  # six zones, one of them use1-az3 (us-east-1e)
    assert result.exit_code == 0, result.output
    assert created_parameters(world)["BuildSubnetZones"] == "us-east-1a,us-east-1b,us-east-1c"


def test_a_region_with_one_fargate_zone_is_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zones, "ZONES_WITHOUT_FARGATE", zones.ZONES_WITHOUT_FARGATE | {"usw1-az1"})
    result = invoke(setup_args(region="us-west-1"))
    assert result.exit_code == 2
    summary = result.output.split("preflight failed:", 1)[1]
    assert "build zones" in summary
    assert "us-west-1 offers Fargate in 1 availability zone(s) of this account (us-west-1a (usw1-az3))" \
        in " ".join(result.output.split())
    assert "choose another --region" in result.output
    assert_nothing_created(world)


def test_zones_without_fargate_opt_in_or_unavailable_are_left_out() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    listed = [("us-east-1a", "use1-az3", "available", "opt-in-not-required"),
              ("us-east-1b", "use1-az1", "available", "opt-in-not-required"),
              ("us-east-1c", "use1-az2", "impaired", "opt-in-not-required"),
              ("us-east-1d", "use1-az4", "available", "opted-in"),
              ("us-east-1f", "use1-az5", "available", "opt-in-not-required")]
    response = {"AvailabilityZones": [
        {"ZoneName": name, "ZoneId": zone_id, "State": state, "OptInStatus": opt_in,
         "ZoneType": "availability-zone", "RegionName": "us-east-1"}
        for name, zone_id, state, opt_in in listed]}
    with Stubber(ec2) as stub:
        stub.add_response("describe_availability_zones", response, {"Filters": zones.STANDARD_ZONES})
        check, chosen = build_zones_check(ec2, "us-east-1", None)
    assert check.ok and chosen == ("us-east-1b", "us-east-1f")


def test_an_installed_platform_keeps_its_zones() -> None:
    kept = {"ParameterKey": "BuildSubnetZones", "ParameterValue": "eu-west-1a,eu-west-1c"}
    current = {"Parameters": [kept]}
    check, chosen = build_zones_check(None, "eu-west-1", current)  # no AWS call
    assert check.ok and chosen == ("eu-west-1a", "eu-west-1c")


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
