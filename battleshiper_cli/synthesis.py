"""Synthesis: templates rendered from packaged artifacts' references, as stable JSON.

Rendering needs only each artifact's key and hash, so this module knows nothing of packaging:
packaging renders the project template (an artifact itself) with it, and `synth` packages first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from troposphere import Template

from templates.config import Artifact, PlatformConfig
from templates.platform import build_platform_template
from templates.project import build_project_template


class ArtifactRef(Protocol):
    """What a template needs of an artifact (packaging's `PackagedArtifact` is one)."""

    @property
    def key(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def platform_config(stack_name: str, artifacts: Mapping[str, ArtifactRef]) -> PlatformConfig:
    """The template input for these artifacts (keys and hashes; the files themselves stay local)."""
    return PlatformConfig(
        stack_name=stack_name,
        artifacts={name: Artifact(key=a.key, sha256=a.sha256) for name, a in artifacts.items()},
    )


def render(template: Template) -> str:
    """Stable JSON: the same template always gives the same text (and hash)."""
    return json.dumps(template.to_dict(), indent=1, sort_keys=True)


def platform_template_json(stack_name: str, artifacts: Mapping[str, ArtifactRef]) -> str:
    return render(build_platform_template(platform_config(stack_name, artifacts)))


def project_template_json(stack_name: str, others: Mapping[str, ArtifactRef]) -> str:
    """The per-project stack, rendered from every other artifact (it must not depend on its own hash)."""
    return render(build_project_template(platform_config(stack_name, others)))
