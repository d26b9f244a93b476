"""The platform's records, as stored in DynamoDB (one table each, names in `names`).

Numbers are ints (DynamoDB returns Decimals; pydantic coerces them back), times are unix seconds,
sets are lists. GitHub tokens never appear here in clear text.
"""

from __future__ import annotations

import secrets
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def now() -> int:
    return int(time.time())


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    def item(self) -> dict[str, Any]:
        """The DynamoDB item (for the boto3 resource API)."""
        return self.model_dump(mode="json", exclude_none=True)


class Role(StrEnum):
    USER = "USER"
    SUPPORT = "SUPPORT"
    MAINTAINER = "MAINTAINER"
    SUBSCRIPTION_MANAGER = "SUBSCRIPTION_MANAGER"
    ROLE_MANAGER = "ROLE_MANAGER"


class BuildCounter(BaseModel):
    """Builds started in the current day window (UTC day of `window_start`)."""

    window_start: int = 0
    count: int = 0


class User(Record):
    id: str  # GitHub's numeric user id, as a string: logins can be renamed and re-claimed
    login: str  # refreshed at every sign-in
    name: str = ""
    avatar_url: str = ""
    roles: list[Role] = Field(default_factory=lambda: [Role.USER])
    subscription_id: str | None = None
    installation_id: int | None = None  # the user's GitHub App installation
    session_version: int = 1  # bumped by logout / role changes: older session tokens stop working
    github_refresh_token: str | None = None  # KMS-encrypted, base64
    # The user-to-server token (KMS-encrypted) and when it expires: repository access is checked with
    # the user's own token at project creation and at every build (`lambdas.shared.access`).
    github_access_token: str | None = None
    github_token_expires_at: int = 0
    build_counter: BuildCounter = Field(default_factory=BuildCounter)
    # Projects the user holds (the quota counter, changed only with a project in one transaction:
    # `lambdas.shared.quotas`).
    project_count: int = 0
    created_at: int = Field(default_factory=now)

    @property
    def privileged(self) -> bool:
        return any(role != Role.USER for role in self.roles)


class Limits(BaseModel):
    project_count: int = Field(default=1, ge=0)
    alias_count: int = Field(default=2, ge=0)
    daily_builds: int = Field(default=20, ge=0)
    prerender_routes: int = Field(default=1000, ge=0)
    client_storage: int = Field(default=100 * 2**20, ge=0)  # bytes
    prerender_storage: int = Field(default=50 * 2**20, ge=0)
    server_storage: int = Field(default=50 * 2**20, ge=0)
    # Reserved (so also the most) concurrent executions of each project's server function: one busy or
    # attacked app cannot take the account's Lambda concurrency from the platform and other projects.
    function_concurrency: int = Field(default=10, ge=1, le=1000)
    # Route-store keys (one per file outside `_app/immutable/`) of one project across the deployments it
    # keeps: the store is one 5 MB KeyValueStore shared by every project (docs/PIPELINE.md).
    route_keys: int = Field(default=2000, ge=0)
    # Environment variables per project (a variable of both targets counts twice), and the bytes of their
    # names and values together: Lambda's 4 KB of environment is not the limit (docs/PIPELINE.md).
    env_variables: int = Field(default=100, ge=0)
    env_bytes: int = Field(default=64 * 1024, ge=0)


class Subscription(Record):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    limits: Limits = Field(default_factory=Limits)


class Repository(BaseModel):
    id: int
    full_name: str  # owner/name: the clone URL is derived from it, never taken from a client
    installation_id: int


class ProjectStatus(StrEnum):
    CREATING = "CREATING"  # init event sent, stack not ready yet
    READY = "READY"  # stack ready, nothing deployed yet
    BUILDING = "BUILDING"
    DEPLOYING = "DEPLOYING"
    LIVE = "LIVE"
    FAILED = "FAILED"  # the last operation failed; `status_reason` says why, the live deployment serves on
    DELETING = "DELETING"


class Lock(BaseModel):
    """A pipeline lock with an owner and an expiry, so a crash never leaves a project locked."""

    owner: str  # execution id
    expires_at: int


class VariableKind(StrEnum):
    PLAIN = "plain"
    SECRET = "secret"  # write-only: every read path masks it


class Applies(StrEnum):
    BUILD = "build"
    RUNTIME = "runtime"
    BOTH = "both"


class Target(StrEnum):
    PRODUCTION = "production"
    PREVIEW = "preview"


class Variable(BaseModel):
    """One stored entry. `value` is sealed; `size` is the plain value's length in bytes (quotas)."""

    name: str
    target: Target
    kind: VariableKind = VariableKind.PLAIN
    applies: Applies = Applies.BOTH
    value: str
    size: int = 0
    updated_at: int = 0
    updated_by: str = ""

    @property
    def key(self) -> str:
        return f"{self.target.value}/{self.name}"

    def applies_to(self, step: Applies) -> bool:
        return self.applies in (step, Applies.BOTH)


class Project(Record):
    name: str
    owner_id: str
    repository: Repository
    branch: str = "main"
    install_command: str = "npm ci"
    build_command: str = "npm run build"
    output_directory: str = "build"
    aliases: list[str] = Field(default_factory=list)  # hosts under the domain; the name itself always
    status: ProjectStatus = ProjectStatus.CREATING
    status_reason: str = ""
    stack_name: str = ""
    live_deployment: str | None = None
    lock: Lock | None = None
    # One running build per project (`lambdas.shared.build_queue`): the deployment whose build holds the
    # slot, until when, and the one newest request waiting for it.
    build_slot: str | None = None
    build_slot_expires: int = 0
    queued_build: str | None = None
    # Environment variables and secrets by `<target>/<name>` (`lambdas.shared.environment`); the revision
    # counts changes, so a write applies only to the environment it read.
    environment: dict[str, Variable] = Field(default_factory=dict)
    env_revision: int = 0
    created_at: int = Field(default_factory=now)
    updated_at: int = Field(default_factory=now)


class DeploymentStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for the project's running build to finish
    CANCELED = "CANCELED"  # superseded while queued by a newer request; never built
    BUILDING = "BUILDING"
    DEPLOYING = "DEPLOYING"
    READY = "READY"  # deployed, kept for rollback
    LIVE = "LIVE"
    FAILED = "FAILED"


def new_deployment_id() -> str:
    """Sortable by time (newest last), unique: `20261128T134700-3f9a1c`."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


class Deployment(Record):
    project_name: str
    deployment_id: str = Field(default_factory=new_deployment_id)
    commit: str = ""
    branch: str = ""
    triggered_by: str = ""  # user id, or "push"
    status: DeploymentStatus = DeploymentStatus.BUILDING
    reason: str = ""
    job_id: str = ""
    function_version: str = ""
    client_bytes: int = 0
    prerender_bytes: int = 0
    server_bytes: int = 0
    page_count: int = 0
    # Page paths (`/`, `/about`) with a route-store key, as deployments before `route_paths` recorded
    # them: still removed with the deployment.
    pages: list[str] = Field(default_factory=list)
    # The paths of every route-store key the deployment writes (`names.page_key`), recorded before the
    # first is written: a failed deploy, pruning and deletion remove exactly these.
    route_paths: list[str] = Field(default_factory=list)
    # The configuration the build captured: the project's environment revision and the names of the
    # variables its server code holds (sealed in the code package, never here).
    env_revision: int = 0
    runtime_variables: list[str] = Field(default_factory=list)
    created_at: int = Field(default_factory=now)
    finished_at: int | None = None
