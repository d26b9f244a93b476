"""Before traffic moves to the new dashboard server: upload the release's static files (from the
assets artifact), so the new server's pages find them the moment they are served."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.hooks import ReleaseHook, hook_function
from lambdas.shared.dashboard_assets import upload_dashboard_assets
from lambdas.shared.entry import lambda_handler
from lambdas.shared.log import log
from lambdas.shared.names import Env


def _upload(s3: Any, env: Mapping[str, str], deployment_id: str, context: Any) -> None:
    artifact = s3.get_object(Bucket=env[Env.ARTIFACTS_BUCKET], Key=env[Env.DASHBOARD_ASSETS_KEY])
    keys = upload_dashboard_assets(s3, env[Env.DASHBOARD_BUCKET], artifact["Body"].read(), deployment_id)
    log("dashboard assets uploaded", context=context, deployment_id=deployment_id, files=len(keys))


publish = ReleaseHook(_upload)
create = hook_function(publish)
handler = lambda_handler(create)
