"""After traffic has moved to the new dashboard server: delete the static files of every earlier
release (the new release's files are tagged with this deployment and stay)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.hooks import run_hook
from lambdas.hooks.assets import delete_other_deployments
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler, lambda_handler
from lambdas.shared.log import log
from lambdas.shared.names import Env


def prune(
    event: Mapping[str, Any],
    s3: Any,
    codedeploy: Any,
    env: Mapping[str, str],
    context: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    def work(deployment_id: str) -> None:
        deleted = delete_other_deployments(s3, env[Env.DASHBOARD_BUCKET], deployment_id)
        log("old dashboard assets deleted", context=context, deployment_id=deployment_id, files=len(deleted))

    return run_hook(event, codedeploy, work, context=context, sleep=sleep)


def create(env: Mapping[str, str], clients: Clients) -> Handler:
    s3, codedeploy = clients.client("s3"), clients.client("codedeploy")
    return lambda event, context: prune(event, s3, codedeploy, env, context)


handler = lambda_handler(create)
