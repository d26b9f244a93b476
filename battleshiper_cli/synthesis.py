"""Synthesis: the platform template rendered from packaged artifacts, as stable JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from troposphere import Template

from battleshiper_cli.packaging import DEFAULT_BUILD_DIR, PackagedArtifact, package_all
from templates.config import Artifact, PlatformConfig
from templates.platform import build_platform_template


def platform_config(stack_name: str, artifacts: Mapping[str, PackagedArtifact]) -> PlatformConfig:
    """The template input for these artifacts (keys and hashes; the files themselves stay local)."""
    return PlatformConfig(
        stack_name=stack_name,
        artifacts={name: Artifact(key=a.key, sha256=a.sha256) for name, a in artifacts.items()},
    )


def render(template: Template) -> str:
    """Stable JSON: the same template always gives the same text (and hash)."""
    return json.dumps(template.to_dict(), indent=1, sort_keys=True)


def platform_template_json(stack_name: str, build_dir: Path | None) -> str:
    """Package (cheap when warm: unchanged artifacts are reused) and render the platform template."""
    artifacts = package_all(stack_name, build_dir or DEFAULT_BUILD_DIR)
    return render(build_platform_template(platform_config(stack_name, artifacts)))
