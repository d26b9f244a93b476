"""Before traffic moves to the new dashboard server: upload the release's static files (from the
assets artifact), so the new server's pages find them the moment they are served."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.hooks import run_hook
from lambdas.hooks.assets import upload_dashboard_assets
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler, lambda_handler
from lambdas.shared.log import log
from lambdas.shared.names import Env


def publish(
    event: Mapping[str, Any],
    s3: Any,
    codedeploy: Any,
    env: Mapping[str, str],
    context: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    def work(deployment_id: str) -> None:
        artifact = s3.get_object(Bucket=env[Env.ARTIFACTS_BUCKET], Key=env[Env.DASHBOARD_ASSETS_KEY])
        keys = upload_dashboard_assets(s3, env[Env.DASHBOARD_BUCKET], artifact["Body"].read(), deployment_id)
        log("dashboard assets uploaded", context=context, deployment_id=deployment_id, files=len(keys))

    return run_hook(event, codedeploy, work, context=context, sleep=sleep)


def create(env: Mapping[str, str], clients: Clients) -> Handler:
    s3, codedeploy = clients.client("s3"), clients.client("codedeploy")
    return lambda event, context: publish(event, s3, codedeploy, env, context)


handler = lambda_handler(create)
