"""The parameters of a project stack: the one the project sets (its name) and the ones the platform
sets, each from the pipeline functions' environment. The init function creates stacks with these and
`battleshiper update` rolls stacks forward with them, so the two cannot disagree.

A platform value may change between releases (the build image, which the project template accepts as
its only allowed value), so a roll-forward passes the platform's current values rather than the stack's
previous ones: an old value would be refused by the new template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.shared.names import Env, ProjectStackParams

P = ProjectStackParams

# Project stack parameter -> the environment variable holding the platform's current value.
PLATFORM_VALUES = {
    P.BUILD_IMAGE: Env.BUILD_IMAGE,
    P.EVENT_BUS_NAME: Env.EVENT_BUS,
    P.BUILD_QUEUE_ARN: Env.BUILD_QUEUE_ARN,
    P.BUILD_BUCKET: Env.BUILD_BUCKET,
    P.BOUNDARY_ARN: Env.PROJECT_BOUNDARY_ARN,
    P.DEAD_LETTER_QUEUE_ARN: Env.PIPELINE_DLQ_ARN,
    P.SERVER_CODE_BUCKET: Env.ARTIFACTS_BUCKET,
    P.SERVER_CODE_KEY: Env.PROJECT_SERVER_KEY,
    P.CONFIG_KEY_ARN: Env.TOKEN_KEY_ARN,
}

# Used when the stack is created only: after that the deploy function owns the server function's code,
# and a new placeholder key would make CloudFormation put the placeholder back on $LATEST.
CREATION_ONLY = frozenset({P.SERVER_CODE_KEY})


def create_parameters(project: str, env: Mapping[str, str]) -> list[dict[str, Any]]:
    values = {P.PROJECT_NAME: project} | {key: env[var] for key, var in PLATFORM_VALUES.items()}
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def roll_forward_parameters(
    declared: Iterable[str], previous: Mapping[str, str], env: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The parameters of an update to a template declaring `declared`: the platform's current values,
    the stack's own values for the rest. A parameter new to the stack and not the platform's is left
    out, so its default applies."""
    entries: list[dict[str, Any]] = []
    for key in declared:
        keep = key in previous and (key not in PLATFORM_VALUES or key in CREATION_ONLY)
        if keep:
            entries.append({"ParameterKey": key, "UsePreviousValue": True})
        elif key in PLATFORM_VALUES:
            entries.append({"ParameterKey": key, "ParameterValue": env[PLATFORM_VALUES[key]]})
    return entries
