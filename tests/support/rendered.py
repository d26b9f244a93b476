"""The rendered platform template and lookups into it, for the tests of its modules (tests/templates)."""

from __future__ import annotations

import json
from typing import Any

from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template


def render(config: PlatformConfig | None = None) -> dict[str, Any]:
    config = config or PlatformConfig(artifacts=placeholder_artifacts())
    rendered: dict[str, Any] = json.loads(build_platform_template(config).to_json())
    return rendered


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for p in props(template, role_id)["Policies"] for s in p["PolicyDocument"]["Statement"]]


def function_named(template: dict[str, Any], name: str) -> str:
    return next(
        k
        for k, v in of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == name
    )
