"""`battleshiper setup` end to end: moto for S3/ACM/Secrets Manager/STS, the CloudFormation fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from battleshiper_cli import install
from battleshiper_cli.context import Context
from battleshiper_cli.errors import Declined
from battleshiper_cli.preflight import Parameters
from battleshiper_cli.prompt import Prompter
from battleshiper_cli.stacks import SUCCESS
from tests.cli.conftest import GITHUB_USERS
from tests.cli.fakes import CDN_OUTPUTS, DASHBOARD_BUCKET, DOMAIN, World, aws_world, setup_args
from tests.cli.runner import Runner, factory

runner = Runner()
ARTIFACTS_BUCKET = "battleshiper-artifacts-123456789012-eu-west-1"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with aws_world(monkeypatch, tmp_path) as w:
        yield w


def invoke(args: list[str]) -> Any:
    from battleshiper_cli.main import app

    return runner.invoke(app, args)


def test_setup_installs_the_platform_and_publishes_the_dashboard(world: World) -> None:
    result = invoke(setup_args())
    assert result.exit_code == 0, result.output

    # The artifacts bucket is private, encrypted, versioned and TLS-only.
    s3 = world.s3
    assert s3.get_bucket_versioning(Bucket=ARTIFACTS_BUCKET)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=ARTIFACTS_BUCKET)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicPolicy"] and block["RestrictPublicBuckets"]
    rule = s3.get_bucket_encryption(Bucket=ARTIFACTS_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "aws:SecureTransport" in s3.get_bucket_policy(Bucket=ARTIFACTS_BUCKET)["Policy"]
    stored = world.objects(ARTIFACTS_BUCKET)
    assert {a.key for a in world.artifacts.values()} <= set(stored)

    # One CREATE change set from the uploaded template, tagged, with IAM capability, executed.
    (create,) = [kw for op, kw in world.cfn.calls if op == "CreateChangeSet"]
    assert create["ChangeSetType"] == "CREATE"
    assert "CAPABILITY_IAM" in create["Capabilities"]
    assert {"Key": "battleshiper:stack", "Value": "battleshiper"} in create["Tags"]
    assert create["TemplateURL"].startswith(f"https://{ARTIFACTS_BUCKET}.s3.eu-west-1.amazonaws.com/")
    params = {p["ParameterKey"]: p["ParameterValue"] for p in create["Parameters"]}
    assert params["Domain"] == DOMAIN and params["ArtifactsBucket"] == ARTIFACTS_BUCKET
    assert world.cfn.count("ExecuteChangeSet") == 1
    assert world.cfn.stack("battleshiper").status == SUCCESS["create"]  # type: ignore[union-attr]

    # Live events were shown, then the dashboard files and the DNS records.
    assert "DependencyLayer" in result.output and "CREATE_COMPLETE" in result.output
    assert set(world.objects(DASHBOARD_BUCKET)) == {"index.html", "_app/immutable/start.js"}
    assert f"{DOMAIN}  CNAME  {CDN_OUTPUTS['DashboardCdnHost']}" in result.output
    assert f"*.{DOMAIN}  CNAME  {CDN_OUTPUTS['ProjectCdnHost']}" in result.output
    assert "ALIAS" in result.output


def test_setup_json_output_has_outputs_and_dns_records(world: World) -> None:
    result = invoke(["--output", "json", *setup_args()])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["status"] == "CREATE_COMPLETE"
    assert printed["outputs"]["DashboardCdnHost"] == CDN_OUTPUTS["DashboardCdnHost"]
    assert [(r["name"], r["type"], r["value"]) for r in printed["dns_records"]] == [
        (DOMAIN, "CNAME", CDN_OUTPUTS["DashboardCdnHost"]),
        (f"*.{DOMAIN}", "CNAME", CDN_OUTPUTS["ProjectCdnHost"]),
    ]
    assert printed["uploaded_bytes"] > 0


def test_failed_create_shows_reasons_and_exits_3(world: World) -> None:
    world.cfn.fail_resources = {"DependencyLayer": "Resource handler returned message: 'Access Denied'"}
    result = invoke(setup_args())
    assert result.exit_code == 3, result.output
    assert "CREATE_FAILED" in result.output
    assert "DependencyLayer" in result.output and "Access Denied" in result.output
    assert "ROLLBACK_COMPLETE" in result.output
    assert "battleshiper --stack-name battleshiper delete" in result.output
    assert world.objects(DASHBOARD_BUCKET) == []


def test_without_yes_and_without_a_terminal_nothing_is_created(world: World) -> None:
    result = invoke(setup_args(yes=False))
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert ARTIFACTS_BUCKET not in world.buckets()
    # Preflight ran (its checklist is worth seeing) but only read: nothing was created.
    assert "Preflight" in result.output
    assert [name for name, _ in world.cfn.calls if not name.startswith("Describe")] == []


def test_declining_removes_the_change_set_and_the_placeholder_stack(world: World) -> None:
    args = setup_args()
    params = Parameters(*(args[args.index(f"--{k}") + 1] for k in (
        "domain", "certificate-arn", "wildcard-certificate-arn", "github-secret-arn", "admin")))
    asked: list[str] = []

    def decline(question: str) -> bool:
        asked.append(question)
        return False

    no = Prompter(yes=False, interactive=True, yes_no=decline)
    with pytest.raises(Declined):
        context = Context(region="eu-west-1", factory=factory, prompter_factory=lambda _: no)
        install.setup(context, params, build_dir=Path("unused"))
    assert asked and "resources" in asked[0]
    assert world.cfn.count("ExecuteChangeSet") == 0
    assert world.cfn.count("DeleteChangeSet") == 1
    assert world.cfn.stack("battleshiper") is None


def test_setup_refuses_when_the_stack_exists(world: World) -> None:
    world.cfn.add_stack("battleshiper", status="UPDATE_COMPLETE")
    result = invoke(setup_args())
    assert result.exit_code == 2
    assert "stack name free" in result.output and "battleshiper update" in result.output
    assert ARTIFACTS_BUCKET not in world.buckets()
    assert world.cfn.count("CreateChangeSet") == 0


def test_setup_binds_the_admin_by_the_numeric_id_of_the_login(world: World) -> None:
    result = invoke(setup_args())
    assert result.exit_code == 0, result.output
    octocat = str(GITHUB_USERS["octocat"])
    assert f"admin: GitHub user octocat is id {octocat}" in result.output
    (create,) = [kw for op, kw in world.cfn.calls if op == "CreateChangeSet"]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in create["Parameters"]}
    assert params["AdminGitHubUser"] == octocat


def test_setup_refuses_an_admin_login_github_does_not_know_before_creating_anything(world: World) -> None:
    result = invoke(setup_args(admin="no-such-user"))
    assert result.exit_code == 2, result.output
    assert "error: admin: GitHub has no user 'no-such-user'" in result.output
    assert "hint: pass the first manager's GitHub login with --admin" in result.output
    assert "Traceback" not in result.output
    assert world.cfn.count("CreateChangeSet") == 0
