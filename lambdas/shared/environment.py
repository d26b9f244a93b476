"""A project's environment variables and secrets (docs/PIPELINE.md, *Environment variables*).

Each variable has a name, a kind (`plain`, or `secret`: write-only, every read path masks it), where it
applies (the build, the server function at run time, or both) and the environment it targets
(`production` or `preview`; setting one for `both` stores one entry per target). Values are sealed with
the platform's KMS key, bound to the project (`lambdas.shared.envelope`), on the project record
(`Project.environment`, keyed `<target>/<name>`); `Project.env_revision` counts changes, and a write
succeeds only on the revision it read.

A build captures the configuration when it is triggered (`capture`): build variables go into the build
spec, runtime ones into a sealed file the deploy puts into the server code, so each published version
holds its own configuration and a rollback restores code and configuration together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from lambdas.shared.envelope import Sealer
from lambdas.shared.models import Applies, Limits, Project, Target, Variable, VariableKind, now
from lambdas.shared.names import Env
from lambdas.shared.store import Conflict

TARGETS = ("production", "preview", "both")
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
MAX_VALUE_BYTES = 32 * 1024
MASK = "********"

# Set by AWS Lambda in every function (AWS's "reserved environment variables"): a project value would
# break the runtime or its SDK.
LAMBDA_RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
# Set by the build runner for the user's commands (lambdas/pipeline/build.mjs).
BUILD_RESERVED = frozenset({"PATH", "HOME", "TMPDIR", "CI"})
RESERVED_PREFIXES = {
    "AWS_": "AWS_ names belong to AWS's runtimes and SDKs",
    "LAMBDA_": "LAMBDA_ names belong to AWS Lambda",
    "BATTLESHIPER_": "BATTLESHIPER_ names belong to the platform",
}
# SvelteKit inlines PUBLIC_ variables into the JavaScript every visitor downloads.
PUBLIC_PREFIX = "PUBLIC_"


class EnvError(Exception):
    """A refused change, for the user: `code` and `status` for API answers."""

    def __init__(self, message: str, code: str = "invalid_variable", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class Setting(BaseModel):
    """One variable to set, as the API, the CLI and the dashboard send it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    value: str
    kind: VariableKind = VariableKind.PLAIN
    applies: Applies = Applies.BOTH
    target: str = "both"


def entry_key(target: str, name: str) -> str:
    return f"{target}/{name}"


def targets_of(target: str) -> list[Target]:
    if target not in TARGETS:
        raise EnvError(f"target {target!r}: one of {', '.join(TARGETS)}", "invalid_target")
    return [Target.PRODUCTION, Target.PREVIEW] if target == "both" else [Target(target)]


def check_name(name: str) -> None:
    """Refuse a name no shell, Lambda or SvelteKit would take as ours, with the reason."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise EnvError(f"{name[:130]!r}: a name is letters, digits and underscores, not starting with a "
                       "digit, at most 128 characters", "invalid_name")
    if name in LAMBDA_RESERVED:
        raise EnvError(f"{name} is reserved by AWS Lambda", "reserved_name")
    if name in BUILD_RESERVED:
        raise EnvError(f"{name} is set by the build runner", "reserved_name")
    for prefix, why in RESERVED_PREFIXES.items():
        if name.startswith(prefix):
            raise EnvError(f"{name} is reserved: {why}", "reserved_name")


def check_setting(setting: Setting) -> None:
    check_name(setting.name)
    targets_of(setting.target)
    if len(setting.value.encode()) > MAX_VALUE_BYTES:
        raise EnvError(f"{setting.name}: a value has at most {MAX_VALUE_BYTES} bytes", "value_too_large")
    if "\x00" in setting.value:
        raise EnvError(f"{setting.name}: a value cannot contain a NUL character", "invalid_value")
    if setting.kind == VariableKind.SECRET and setting.name.startswith(PUBLIC_PREFIX):
        raise EnvError(f"{setting.name}: SvelteKit puts PUBLIC_ variables into every visitor's JavaScript, "
                       "so one cannot be secret", "public_secret")


def usage(environment: Mapping[str, Variable]) -> tuple[int, int]:
    """Entries and bytes (names and values) a project's environment holds, as its quota counts them."""
    return len(environment), sum(len(v.name) + v.size for v in environment.values())


def check_quota(environment: Mapping[str, Variable], limits: Limits) -> None:
    count, size = usage(environment)
    if count > limits.env_variables:
        raise EnvError(f"at most {limits.env_variables} variables per project (a variable set for both "
                       "targets counts twice)", "quota_exceeded", 403)
    if size > limits.env_bytes:
        raise EnvError(f"names and values take at most {limits.env_bytes} bytes per project",
                       "quota_exceeded", 403)


def owner_limits(deps: Any, project: Project) -> Limits:
    """The limits of the owner's subscription (whoever makes the change), the defaults without one."""
    owner = deps.store.users.get(id=project.owner_id)
    plan = owner.subscription_id if owner else None
    subscription = deps.store.subscriptions.get(id=plan) if plan else None
    return subscription.limits if subscription else Limits()


def sealer(deps: Any, project: str) -> Sealer:
    return Sealer(deps.client("kms"), deps.env[Env.TOKEN_KEY_ARN], project)


def view(variable: Variable, value: str | None) -> dict[str, Any]:
    """What every read path shows: a secret's value never (`value` null, `masked` true)."""
    secret = variable.kind == VariableKind.SECRET
    return {
        "name": variable.name, "target": variable.target.value, "kind": variable.kind.value,
        "applies": variable.applies.value, "value": None if secret else value, "masked": secret,
        "size": variable.size, "updated_at": variable.updated_at, "updated_by": variable.updated_by,
    }


def listing(deps: Any, project: Project) -> list[dict[str, Any]]:
    """Every entry, plain values opened, secrets masked; sorted by name, then target."""
    box = sealer(deps, project.name)
    entries = sorted(project.environment.values(), key=lambda v: (v.name, v.target.value))
    return [view(v, None if v.kind == VariableKind.SECRET else box.open(v.value, _aad(project.name, v)))
            for v in entries]


def reveal(deps: Any, project: Project, targets: Iterable[Target], *, secrets: bool) -> dict[str, str]:
    """Opened values of the given target (the operator's `env pull`); secrets only when asked."""
    box = sealer(deps, project.name)
    wanted = set(targets)
    return {v.name: box.open(v.value, _aad(project.name, v)) for v in _sorted(project.environment.values())
            if v.target in wanted and (secrets or v.kind == VariableKind.PLAIN)}


def _sorted(variables: Iterable[Variable]) -> list[Variable]:
    return sorted(variables, key=lambda v: (v.name, v.target.value))


def _aad(project: str, variable: Variable) -> str:
    return f"{project}/{variable.key}"


def _write(deps: Any, project: Project, environment: dict[str, Variable]) -> Project:
    """Store the new environment if nobody changed it since `project` was read."""
    try:
        return deps.store.projects.update(
            {"name": project.name},
            {"environment": {k: v.model_dump(mode="json") for k, v in environment.items()},
             "env_revision": project.env_revision + 1, "updated_at": now()},
            "attribute_not_exists(#rev) OR #rev = :rev", {":rev": project.env_revision},
            extra_names={"#rev": "env_revision"},
        )
    except Conflict as err:
        raise EnvError("the environment changed meanwhile: read it again and retry", "conflict", 409) from err


def set_variables(deps: Any, project: Project, settings: list[Setting], by: str) -> Project:
    """Set (add or replace) variables, within the owner's limits; all or nothing. `by`: who (a login)."""
    for setting in settings:
        check_setting(setting)
    box, stamp = sealer(deps, project.name), now()
    environment = dict(project.environment)
    for setting in settings:
        for target in targets_of(setting.target):
            variable = Variable(name=setting.name, target=target, kind=setting.kind, applies=setting.applies,
                                value="", size=len(setting.value.encode()), updated_at=stamp, updated_by=by)
            variable.value = box.seal(setting.value, _aad(project.name, variable))
            environment[variable.key] = variable
    check_quota(environment, owner_limits(deps, project))
    return _write(deps, project, environment)


def unset_variables(deps: Any, project: Project, variable_names: list[str], target: str) -> tuple[Project,
                                                                                                  list[str]]:
    """Remove the named variables of the target(s); the keys removed. None of them set: `not_found`."""
    keys = [entry_key(t, n) for n in variable_names for t in targets_of(target)]
    removed = [k for k in keys if k in project.environment]
    if not removed:
        raise EnvError(f"no such variable: {', '.join(variable_names)}", "not_found", 404)
    environment = {k: v for k, v in project.environment.items() if k not in removed}
    return _write(deps, project, environment), removed


@dataclass
class Captured:
    """A build's configuration, fixed when the build is triggered."""

    build: dict[str, str] = field(default_factory=dict)  # exported to install and build
    masked: list[str] = field(default_factory=list)  # secret values the build log must not show
    runtime_names: list[str] = field(default_factory=list)
    runtime_file: bytes | None = None  # sealed; None when nothing applies at run time


def capture(deps: Any, project: Project, target: Target = Target.PRODUCTION) -> Captured:
    entries = [v for v in _sorted(project.environment.values()) if v.target == target]
    if not entries:
        return Captured()
    box = sealer(deps, project.name)
    opened = {v.name: box.open(v.value, _aad(project.name, v)) for v in entries}
    runtime = {v.name: opened[v.name] for v in entries if v.applies_to(Applies.RUNTIME)}
    return Captured(
        build={v.name: opened[v.name] for v in entries if v.applies_to(Applies.BUILD)},
        masked=[opened[v.name] for v in entries if v.kind == VariableKind.SECRET and opened[v.name]],
        runtime_names=sorted(runtime),
        runtime_file=box.runtime_file(runtime) if runtime else None,
    )
