"""After traffic has moved to the new dashboard server: delete the static files of every earlier
release (the new release's files are tagged with this deployment and stay)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.hooks import ReleaseHook, hook_function
from lambdas.shared.dashboard_assets import delete_other_deployments
from lambdas.shared.entry import lambda_handler
from lambdas.shared.log import log
from lambdas.shared.names import Env


def _delete_others(s3: Any, env: Mapping[str, str], deployment_id: str, context: Any) -> None:
    deleted = delete_other_deployments(s3, env[Env.DASHBOARD_BUCKET], deployment_id)
    log("old dashboard assets deleted", context=context, deployment_id=deployment_id, files=len(deleted))


prune = ReleaseHook(_delete_others)
create = hook_function(prune)
handler = lambda_handler(create)
