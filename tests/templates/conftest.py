"""Rendered templates shared by the template tests (rendering is pure: no AWS, no packaging)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from templates.project import build_project_template


@pytest.fixture(scope="session")
def config() -> PlatformConfig:
    return PlatformConfig(artifacts=placeholder_artifacts())


@pytest.fixture(scope="session")
def platform(config: PlatformConfig) -> dict[str, Any]:
    return json.loads(build_platform_template(config).to_json())


@pytest.fixture(scope="session")
def project(config: PlatformConfig) -> dict[str, Any]:
    return json.loads(build_project_template(config).to_json())
