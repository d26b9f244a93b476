"""Steering a project from the CLI: build, rollback, delete, through the pipeline's own functions
(`lambdas.shared.builds`, `releases`, `events`) with the operator's clients. Nothing here re-implements
a pipeline step; it only gathers what those functions need (`Deps`) from the platform stack."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any

from battleshiper_cli.context import Context
from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.project.views import Platform, parameters, stack_outputs
from lambdas.shared import events
from lambdas.shared.builds import BuildRefused, trigger_build
from lambdas.shared.deps import Deps
from lambdas.shared.models import Deployment, Project
from lambdas.shared.names import Env
from lambdas.shared.releases import ReleaseError, rollback
from lambdas.shared.secrets import Secrets
from templates import ids
from templates.parameters import PARAM_GITHUB_SECRET

TRIGGERED_BY = "operator"


class Refused(BattleshiperError):
    """The pipeline refused the request (state, quota, lock, no such deployment): nothing changed."""


def route_store_arn(c: Context, platform: Platform) -> str:
    """The route store's (CloudFront KeyValueStore's) ARN; CloudFront's control plane is in us-east-1."""
    cloudfront = c.client("cloudfront", region="us-east-1")
    return str(cloudfront.describe_key_value_store(Name=platform.names.route_store)["KeyValueStore"]["ARN"])


def pipeline_env(c: Context, platform: Platform) -> dict[str, str]:
    outputs = stack_outputs(platform.stack)
    env = {
        Env.STACK: platform.names.stack,
        Env.EVENT_BUS: platform.names.bus,
        Env.TICKET_KEY_SECRET_ARN: platform.names.ticket_key_secret,  # GetSecretValue takes names too
        Env.GITHUB_SECRET_ARN: parameters(platform.stack).get(PARAM_GITHUB_SECRET, ""),
        Env.BUILD_BUCKET: outputs.get(ids.OUTPUT_BUILD_BUCKET, ""),
        Env.PROJECT_BUCKET: outputs.get(ids.OUTPUT_PROJECT_BUCKET, ""),
        # A build checks the owner's GitHub access with their token (KMS takes the alias too).
        Env.TOKEN_KEY_ARN: platform.names.token_key_alias,
    }
    # The local platform points GitHub at its stand-in.
    for variable in (Env.GITHUB_URL, Env.GITHUB_API_URL):
        if os.environ.get(variable):
            env[variable] = os.environ[variable]
    if c.local is not None:
        env[Env.GITHUB_URL], env[Env.GITHUB_API_URL] = c.local.github_url, c.local.github_api_url
    return env


def deps(c: Context, platform: Platform, *, routes: bool = False) -> Deps:
    env = pipeline_env(c, platform)
    if routes:
        env[Env.ROUTE_STORE_ARN] = route_store_arn(c, platform)
    return Deps(env, c.clients, store=platform.store)


@contextlib.contextmanager
def pipeline_logs(c: Context) -> Iterator[None]:
    """The pipeline functions log JSON lines to stdout (for CloudWatch): keep them out of the CLI's
    output, on stderr with --verbose."""
    with contextlib.redirect_stdout(sys.stderr if c.verbose else io.StringIO()):
        yield


def build(c: Context, platform: Platform, project: Project, commit: str | None = None) -> Deployment:
    try:
        with pipeline_logs(c):
            return trigger_build(deps(c, platform), project, triggered_by=TRIGGERED_BY, commit=commit)
    except BuildRefused as err:
        raise Refused(f"build of {project.name} not started: {err}") from None


def roll_back(c: Context, platform: Platform, project: Project, to: str | None) -> Deployment:
    try:
        with pipeline_logs(c):
            return rollback(deps(c, platform, routes=True), project, to)
    except ReleaseError as err:
        raise Refused(f"rollback of {project.name} refused: {err}") from None


def request_delete(c: Context, platform: Platform, project: Project) -> None:
    """Ask the pipeline's delete function to remove the project. The ticket names the owner: the
    operator acts for them, and the delete function accepts only the owner or a maintainer."""
    env = pipeline_env(c, platform)
    key = Secrets(c.clients).signing_key(env[Env.TICKET_KEY_SECRET_ARN])
    with pipeline_logs(c):
        events.send_delete(c.client("events"), key, project, project.owner_id, env)


def describe(d: Deployment) -> dict[str, Any]:
    return d.model_dump(mode="json")
