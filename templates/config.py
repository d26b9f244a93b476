"""Typed input of the template functions: what an installation looks like, apart from the
CloudFormation parameters the operator gives at setup (domain, certificates, GitHub secret, admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lambdas.shared.names import DEFAULT_STACK_NAME, Names

# The build job's runner script, shipped in lambdas/pipeline and inlined in the project template. Found
# by its place beside this package, so the templates import no function group.
BUILD_RUNNER = Path(__file__).resolve().parent.parent / "lambdas" / "pipeline" / "build.mjs"

# The artifacts every installation ships; packaging produces exactly these (tests check both ways).
ARTIFACT_NAMES = (
    "layer",  # Python dependencies (manylinux wheels for the Lambda architecture)
    "api",  # Python code: auth, user, resource, admin, webhook handlers
    "router",
    "pipeline",  # init, deploy, delete
    "hooks",  # CodeDeploy pre/post-traffic hooks of the dashboard
    "dashboard-server",  # the dashboard's SvelteKit server (Node.js)
    "dashboard-assets",  # the dashboard's static files, uploaded by the pre-traffic hook
    "project-template",  # the per-project stack (JSON)
    "project-server",  # placeholder server code of a new project stack (answers 503 until the first deploy)
)


class Artifact(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str = Field(description="S3 key in the artifacts bucket (content addressed)")
    sha256: str


class PlatformConfig(BaseModel):
    """Everything the platform template is a function of."""

    model_config = ConfigDict(frozen=True)

    stack_name: str = DEFAULT_STACK_NAME
    artifacts: dict[str, Artifact]
    architecture: Literal["arm64"] = "arm64"
    python_runtime: str = "python3.13"
    node_runtime: str = "nodejs22.x"
    log_retention_days: int = 14
    keep_deployments: int = Field(default=5, ge=1, le=50)
    build_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    build_vcpus: float = 1.0
    build_memory_mib: int = 2048
    build_max_vcpus: int = 32
    build_image: str = "public.ecr.aws/docker/library/node:22-bookworm"

    @property
    def names(self) -> Names:
        return Names(self.stack_name)

    def artifact(self, name: str) -> Artifact:
        if name not in ARTIFACT_NAMES:
            raise KeyError(name)
        return self.artifacts[name]


def placeholder_artifacts() -> dict[str, Artifact]:
    """Artifact references for rendering a template without packaging (tests, previews)."""
    return {
        name: Artifact(key=f"{name}/{'0' * 64}.{'json' if name == 'project-template' else 'zip'}",
                       sha256="0" * 64)
        for name in ARTIFACT_NAMES
    }
