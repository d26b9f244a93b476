"""CodeDeploy lifecycle hooks of the dashboard release: the pre-traffic hook publishes the new
release's static files, the post-traffic hook deletes the previous release's.

Shared here: the hook protocol — do the work, then
report `Succeeded` or `Failed` for the lifecycle event, since CodeDeploy waits for that report (not
for the function's result) before it shifts traffic or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lambdas.shared.log import log


def run_hook(
    event: Mapping[str, Any], codedeploy: Any, work: Callable[[str], object], *, context: Any = None
) -> dict[str, str]:
    """Run `work(deployment_id)` and report its outcome to CodeDeploy. A failed report raises, so
    Lambda retries the invocation rather than leaving the deployment waiting for its timeout."""
    deployment_id = event["DeploymentId"]
    execution_id = event["LifecycleEventHookExecutionId"]
    try:
        work(deployment_id)
        status = "Succeeded"
    except Exception as error:  # any failure must reach CodeDeploy, which then rolls back
        log(
            "dashboard release hook failed",
            context=context,
            level="ERROR",
            deployment_id=deployment_id,
            error=repr(error),
        )
        status = "Failed"
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
    )
    log("dashboard release hook reported", context=context, deployment_id=deployment_id, status=status)
    return {"status": status}
