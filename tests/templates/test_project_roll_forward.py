"""A project stack created by one release and rolled forward to the next: the parameters the init
function creates it with and those `battleshiper update` passes stay within each template's
constraints, also when a release changes a value the platform controls (the build image)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.shared import project_stack
from lambdas.shared.names import ProjectStackParams
from templates.config import Artifact, PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from templates.project import build_project_template
from tests.support.parameters import resolve
from tests.support.pipeline_env import Deployed

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
PLATFORM_PARAMETERS = {
    "Domain": "ship.example.com",
    "CertificateArn": CERTIFICATE,
    "WildcardCertificateArn": CERTIFICATE,
    "GitHubSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf",
    "AdminGitHubUser": "583231",
    "ArtifactsBucket": "battleshiper-artifacts-123456789012-eu-west-1",
    "BuildSubnetZones": "eu-west-1a,eu-west-1b",
}
NEW_IMAGE = "public.ecr.aws/docker/library/node:24-bookworm"
Release = tuple[dict[str, Any], dict[str, str]]  # the project template, the init function's environment


def release(**changes: Any) -> Release:
    """A release's project template and the init function's environment once it is deployed."""
    config = PlatformConfig(artifacts=placeholder_artifacts()).model_copy(update=changes)
    platform = json.loads(build_platform_template(config).to_json())
    env = Deployed(platform, PLATFORM_PARAMETERS).environment("PipelineInitFunction")
    return json.loads(build_project_template(config).to_json()), env


def created_values(template: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    values, problems = resolve(template["Parameters"], {}, project_stack.create_parameters("shop", env))
    assert problems == []
    return values


@pytest.fixture(scope="module")
def releases() -> tuple[Release, Release]:
    """Release 2 changes the build image and the placeholder server code."""
    new_server = Artifact(key=f"project-server/{'1' * 64}.zip", sha256="1" * 64)
    artifacts = placeholder_artifacts() | {"project-server": new_server}
    return release(), release(build_image=NEW_IMAGE, artifacts=artifacts)


def test_init_passes_every_parameter_the_platform_controls(releases: tuple[Release, Release]) -> None:
    (template, env), _ = releases
    assert set(template["Parameters"]) == {ProjectStackParams.PROJECT_NAME, *project_stack.PLATFORM_VALUES}
    assert set(project_stack.PLATFORM_VALUES.values()) <= set(env)
    assert created_values(template, env)[ProjectStackParams.BUILD_IMAGE] == env["BUILD_IMAGE"]


def test_a_stack_of_release_1_rolls_forward_to_release_2(releases: tuple[Release, Release]) -> None:
    (first, first_env), (second, second_env) = releases
    assert first["Parameters"][ProjectStackParams.BUILD_IMAGE]["AllowedValues"] != [NEW_IMAGE]
    previous = created_values(first, first_env)

    rolled = project_stack.roll_forward_parameters(second["Parameters"], previous, second_env)
    values, problems = resolve(second["Parameters"], previous, rolled)
    assert problems == []
    assert values[ProjectStackParams.BUILD_IMAGE] == NEW_IMAGE
    assert values[ProjectStackParams.PROJECT_NAME] == "shop"
    # The placeholder code is for new stacks; the deploy function owns the code of this one.
    assert values[ProjectStackParams.SERVER_CODE_KEY] == previous[ProjectStackParams.SERVER_CODE_KEY]
    assert second_env["PROJECT_SERVER_KEY"] != previous[ProjectStackParams.SERVER_CODE_KEY]
    for key, variable in project_stack.PLATFORM_VALUES.items():
        if key not in project_stack.CREATION_ONLY:
            assert values[key] == second_env[variable], key


def test_previous_values_alone_would_be_refused(releases: tuple[Release, Release]) -> None:
    (first, first_env), (second, _) = releases
    previous = created_values(first, first_env)
    unchanged = [{"ParameterKey": k, "UsePreviousValue": True} for k in previous]
    _, problems = resolve(second["Parameters"], previous, unchanged)
    assert problems == ["Parameter 'BuildImage' must be one of AllowedValues"]


def test_a_parameter_new_to_the_stack_gets_its_default_or_the_platform_value() -> None:
    declared = {ProjectStackParams.PROJECT_NAME: {}, ProjectStackParams.BUILD_IMAGE: {}, "Later": {}}
    rolled = project_stack.roll_forward_parameters(declared, {"ProjectName": "shop"}, {"BUILD_IMAGE": "i"})
    assert rolled == [{"ParameterKey": "ProjectName", "UsePreviousValue": True},
                      {"ParameterKey": "BuildImage", "ParameterValue": "i"}]
