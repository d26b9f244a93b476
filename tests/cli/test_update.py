"""`battleshiper update` after a setup: no-op updates, --diff, parameters, rollbacks, project stacks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from battleshiper_cli import install, synthesis, zones
from battleshiper_cli.packaging import PackagedArtifact
from lambdas.shared import project_stack
from lambdas.shared.names import ProjectStackParams
from templates.config import PlatformConfig
from templates.project import build_project_template
from tests.cli.conftest import GITHUB_USERS
from tests.cli.fake_lambda import FakeLambda
from tests.cli.fakes import PROJECT_TEMPLATE, World, aws_world, setup_args
from tests.cli.runner import Runner

runner = Runner()
ARTIFACTS_BUCKET = "battleshiper-artifacts-123456789012-eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/battleshiper-ProjectStackRole-abc"


def invoke(*args: str) -> Any:
    from battleshiper_cli.main import app

    return runner.invoke(app, ["--region", "eu-west-1", *args])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    """An installed platform (setup done), calls recorded from here on."""
    with aws_world(monkeypatch, tmp_path) as w:
        from battleshiper_cli.main import app

        result = runner.invoke(app, setup_args())
        assert result.exit_code == 0, result.output
        w.cfn.calls.clear()
        yield w


def calls(world: World, operation: str) -> list[dict[str, Any]]:
    return [kw for op, kw in world.cfn.calls if op == operation]


def add_project(world: World, name: str, template_sha256: str) -> None:
    world.cfn.add_stack(f"battleshiper-project-{name}", template=PROJECT_TEMPLATE, role_arn=ROLE,
                        parameters={"ProjectName": name},
                        tags={"battleshiper:project": name, "battleshiper:template-hash": template_sha256})


def test_noop_update_uploads_and_executes_nothing(world: World) -> None:
    stored = world.objects(ARTIFACTS_BUCKET)
    result = invoke("--yes", "--output", "json", "update")
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output
    printed = json.loads(result.stdout)
    assert printed["status"] == "no-changes"
    assert printed["uploaded"] == [] and printed["uploaded_bytes"] == 0
    assert world.objects(ARTIFACTS_BUCKET) == stored
    assert world.cfn.count("ExecuteChangeSet") == 0 and world.cfn.count("UpdateStack") == 0
    assert world.cfn.count("DeleteChangeSet") == 1  # the empty change set is not left behind


def test_update_uploads_only_changed_artifacts_and_applies_the_change_set(world: World) -> None:
    world.package(version="2")  # code changes, the project template does not
    result = invoke("--yes", "--output", "json", "update")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["status"] == "UPDATE_COMPLETE"
    assert "project-template" not in printed["uploaded"] and "api" in printed["uploaded"]
    assert {c["logical_id"] for c in printed["changes"]} >= {"DependencyLayer"}
    assert world.cfn.count("ExecuteChangeSet") == 1
    (change_set,) = calls(world, "CreateChangeSet")
    params = {p["ParameterKey"]: p for p in change_set["Parameters"]}
    assert params["Domain"] == {"ParameterKey": "Domain", "UsePreviousValue": True}
    assert "UPDATE_COMPLETE" in result.output  # streamed events


def test_given_parameters_replace_only_themselves(world: World) -> None:
    result = invoke("--yes", "update", "--admin", "hubot")
    assert result.exit_code == 0, result.output
    (change_set,) = calls(world, "CreateChangeSet")
    params = {p["ParameterKey"]: p for p in change_set["Parameters"]}
    # The login is resolved once to the numeric GitHub id, which the stack holds; the output says so.
    hubot = str(GITHUB_USERS["hubot"])
    assert params["AdminGitHubUser"] == {"ParameterKey": "AdminGitHubUser", "ParameterValue": hubot}
    assert f"GitHub user hubot is id {hubot}" in result.output
    assert params["Domain"].get("UsePreviousValue") is True
    assert world.cfn.stack("battleshiper").parameters["AdminGitHubUser"] == hubot  # type: ignore[union-attr]


def test_throttling_is_changed_by_update_and_an_older_stack_gets_the_defaults(world: World) -> None:
    stack = world.cfn.stack("battleshiper")
    assert stack and stack.parameters["ApiThrottleRate"] == "500"  # setup's default
    throttles = ("ApiThrottleRate", "ApiThrottleBurst", "ProjectThrottleRate", "ProjectThrottleBurst")
    for key in throttles:  # as a release before stage throttling installed it
        del stack.parameters[key]
    result = invoke("--yes", "update", "--project-throttle-rate", "50")
    assert result.exit_code == 0, result.output
    assert {k: stack.parameters[k] for k in throttles} == {
        "ApiThrottleRate": "500", "ApiThrottleBurst": "250", "ProjectThrottleRate": "50",
        "ProjectThrottleBurst": "2000",
    }


def test_a_throttle_out_of_range_is_refused_before_any_change(world: World) -> None:
    result = invoke("--yes", "update", "--api-throttle-burst", "20000")
    assert result.exit_code == 2, result.output
    assert "is not a whole number from 1 to 10000" in result.output
    assert world.cfn.count("CreateChangeSet") == 0


def test_diff_exits_0_without_changes(world: World) -> None:
    result = invoke("update", "--diff")
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output
    assert world.cfn.count("ExecuteChangeSet") == 0


def test_diff_exits_1_with_changes_and_executes_nothing(world: World) -> None:
    world.package(version="2")
    stored = world.objects(ARTIFACTS_BUCKET)
    result = invoke("--output", "json", "update", "--diff")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["status"] == "changes"
    assert world.cfn.count("ExecuteChangeSet") == 0
    assert world.cfn.count("DeleteChangeSet") == 1
    new_objects = set(world.objects(ARTIFACTS_BUCKET)) - set(stored)
    assert all(key.startswith("platform-template/") for key in new_objects)  # no artifact uploaded


def test_diff_exits_2_on_error(world: World) -> None:
    result = invoke("update", "--diff", "--domain", "Not A Domain")
    assert result.exit_code == 2
    assert "domain" in result.output
    assert world.cfn.count("CreateChangeSet") == 0


def test_update_of_a_missing_stack_says_to_run_setup(world: World) -> None:
    result = invoke("--stack-name", "other", "--yes", "update")
    assert result.exit_code == 2
    assert "battleshiper setup" in result.output


@pytest.mark.parametrize("args", [["update", "--diff"], ["--yes", "update"]])
def test_update_without_a_platform_says_only_that_it_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    with aws_world(monkeypatch, tmp_path) as world:  # no setup: no platform stack
        result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: battleshiper is not installed in eu-west-1",
        "hint: run `battleshiper setup` to install it, or pass the --region and --stack-name it was "
        "installed with",
    ]
    assert world.cfn.count("CreateChangeSet") == 0


def test_failed_update_rolls_back_and_exits_3(world: World) -> None:
    world.package(version="2")
    world.cfn.fail_resources = {"DependencyLayer": "Layer version quota exceeded"}
    result = invoke("--yes", "update")
    assert result.exit_code == 3, result.output
    assert "UPDATE_ROLLBACK_COMPLETE" in result.output
    assert "Layer version quota exceeded" in result.output
    assert "rolled the platform back" in result.output


def test_busy_stack_is_refused_before_anything_is_uploaded(world: World) -> None:
    world.cfn.stack("battleshiper").status = "UPDATE_IN_PROGRESS"  # type: ignore[union-attr]
    world.package(version="2")
    stored = world.objects(ARTIFACTS_BUCKET)
    result = invoke("--yes", "update")
    assert result.exit_code == 2
    assert "busy (UPDATE_IN_PROGRESS)" in result.output
    assert world.objects(ARTIFACTS_BUCKET) == stored
    assert world.cfn.count("CreateChangeSet") == 0


def test_project_stacks_behind_are_rolled_forward(world: World) -> None:
    current = world.artifacts["project-template"]
    add_project(world, "old", "0" * 64)
    add_project(world, "fresh", current.sha256)
    result = invoke("--yes", "--output", "json", "update")
    assert result.exit_code == 0, result.output
    (update,) = calls(world, "UpdateStack")
    assert update["StackName"] == "battleshiper-project-old"
    assert update["TemplateURL"].endswith(f"/{current.key}")
    assert update["RoleARN"] == ROLE
    assert update["Parameters"] == [{"ParameterKey": "ProjectName", "UsePreviousValue": True}]
    assert {"Key": "battleshiper:template-hash", "Value": current.sha256} in update["Tags"]
    assert {"Key": "battleshiper:project", "Value": "old"} in update["Tags"]
    assert json.loads(result.stdout)["projects"] == [
        {"stack": "battleshiper-project-old", "status": "UPDATE_COMPLETE"}]


def test_no_projects_only_lists_them(world: World) -> None:
    world.package(project_version="2")
    add_project(world, "site", world.artifacts["project-template"].sha256)
    add_project(world, "blog", "0" * 64)
    result = invoke("--yes", "update", "--no-projects")
    assert result.exit_code == 0, result.output
    assert "battleshiper-project-blog" in result.output and "without --no-projects" in result.output
    assert world.cfn.count("UpdateStack") == 0


def test_failed_project_roll_forward_exits_3(world: World) -> None:
    add_project(world, "old", "0" * 64)
    world.cfn.fail_resources = {"ServerFunction": "Runtime nodejs16.x is no longer supported"}
    world.package(project_version="2")
    result = invoke("--yes", "update")
    assert result.exit_code == 3, result.output
    assert "battleshiper-project-old" in result.output and "no longer supported" in result.output


# --- a release that changes what the platform controls ------------------------------------------

NEW_IMAGE = "public.ecr.aws/docker/library/node:24-bookworm"


def release(world: World, monkeypatch: pytest.MonkeyPatch, build_image: str) -> PlatformConfig:
    """Package a release whose platform config has `build_image`: the platform template the CLI
    renders and the project template artifact both follow it."""
    original = synthesis.platform_config

    def config_of(stack_name: str, artifacts: Any) -> PlatformConfig:
        return original(stack_name, artifacts).model_copy(update={"build_image": build_image})

    monkeypatch.setattr(install, "platform_config", config_of)
    config = config_of("battleshiper", world.artifacts)
    body = json.dumps(build_project_template(config).to_dict(), sort_keys=True).encode()
    sha = hashlib.sha256(body).hexdigest()
    path = world.directory / f"project-template-{sha[:8]}.json"
    path.write_bytes(body)
    world.artifacts["project-template"] = PackagedArtifact("project-template", path, sha,
                                                           f"project-template/{sha}.json")
    return config


def test_a_new_build_image_reaches_the_project_stacks_it_rolls_forward(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project created under release 1, with the values the init function passes.
    first = json.loads(build_project_template(synthesis.platform_config("battleshiper", world.artifacts))
                       .to_json())
    env = FakeLambda(world.cfn).get_function_configuration(FunctionName="battleshiper-pipeline-init")
    created = project_stack.create_parameters("old", env["Environment"]["Variables"])
    world.cfn.add_stack("battleshiper-project-old", template=first, role_arn=ROLE,
                        parameters={p["ParameterKey"]: p["ParameterValue"] for p in created},
                        tags={"battleshiper:project": "old", "battleshiper:template-hash": "1" * 64})
    old_key = world.cfn.stack("battleshiper-project-old").parameters[  # type: ignore[union-attr]
        ProjectStackParams.SERVER_CODE_KEY]

    release(world, monkeypatch, NEW_IMAGE)  # its project template allows only the new image
    result = invoke("--yes", "--output", "json", "update")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["projects"] == [
        {"stack": "battleshiper-project-old", "status": "UPDATE_COMPLETE"}]
    (update,) = calls(world, "UpdateStack")
    passed = {p["ParameterKey"]: p for p in update["Parameters"]}
    assert passed[ProjectStackParams.BUILD_IMAGE] == {"ParameterKey": ProjectStackParams.BUILD_IMAGE,
                                                      "ParameterValue": NEW_IMAGE}
    assert passed[ProjectStackParams.PROJECT_NAME].get("UsePreviousValue") is True
    stack = world.cfn.stack("battleshiper-project-old")
    assert stack is not None and stack.parameters[ProjectStackParams.BUILD_IMAGE] == NEW_IMAGE
    assert stack.parameters[ProjectStackParams.SERVER_CODE_KEY] == old_key  # the deployed code stays


def test_update_keeps_the_installed_build_zones(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = world.cfn.stack("battleshiper").parameters["BuildSubnetZones"]  # type: ignore[union-attr]
    assert installed == "eu-west-1a,eu-west-1b,eu-west-1c"
    # Zones chosen afresh would now differ; moving the subnets would replace them.
    monkeypatch.setattr(zones, "ZONES_WITHOUT_FARGATE", zones.ZONES_WITHOUT_FARGATE | {"euw1-az3"})
    world.package(version="2")
    result = invoke("--yes", "update")
    assert result.exit_code == 0, result.output
    (change_set,) = calls(world, "CreateChangeSet")
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in change_set["Parameters"]}
    assert params["BuildSubnetZones"] == installed


def test_a_platform_installed_without_build_zones_gets_them_on_update(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    del world.cfn.stack("battleshiper").parameters["BuildSubnetZones"]  # type: ignore[union-attr]
    monkeypatch.setattr(zones, "ZONES_WITHOUT_FARGATE", zones.ZONES_WITHOUT_FARGATE | {"euw1-az3"})
    result = invoke("--yes", "update")
    assert result.exit_code == 0, result.output
    (change_set,) = calls(world, "CreateChangeSet")
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in change_set["Parameters"]}
    assert params["BuildSubnetZones"] == "eu-west-1b,eu-west-1c"


def test_a_refused_project_stack_does_not_stop_the_others(world: World) -> None:
    add_project(world, "good", "0" * 64)
    world.cfn.add_stack("battleshiper-project-bare", template=PROJECT_TEMPLATE, role_arn=ROLE,  # no name
                        tags={"battleshiper:project": "bare", "battleshiper:template-hash": "0" * 64})
    result = invoke("--yes", "--output", "json", "update")
    assert result.exit_code == 3, result.output
    assert "battleshiper-project-bare: failed: Parameters: [ProjectName] must have values" in result.output
    assert world.cfn.stack("battleshiper-project-good").status == "UPDATE_COMPLETE"  # type: ignore[union-attr]


def test_a_stack_of_an_older_setup_holding_the_admin_login_gets_its_id(world: World) -> None:
    stack = world.cfn.stack("battleshiper")
    assert stack is not None
    stack.parameters["AdminGitHubUser"] = "octocat"  # what setup stored before ids
    result = invoke("--yes", "update")
    assert result.exit_code == 0, result.output
    octocat = str(GITHUB_USERS["octocat"])
    assert f"GitHub user octocat is id {octocat}" in result.output
    assert stack.parameters["AdminGitHubUser"] == octocat
