"""CodeDeploy lifecycle hooks of the dashboard release: the pre-traffic hook publishes the new
release's static files, the post-traffic hook deletes the previous release's.

Shared here: the hook protocol — do the work, then
report `Succeeded` or `Failed` for the lifecycle event, since CodeDeploy waits for that report (not
for the function's result) before it shifts traffic or rolls back. A failure that may pass (IAM not yet
consistent after the stack update that runs the hook, throttling, a 5xx) is retried a few times with
backoff first, so it does not roll the dashboard back; any other failure is reported at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from lambdas.shared.aws import Clients
from lambdas.shared.entry import Create, Handler
from lambdas.shared.log import log

# Waits of 1, 2, 4, 8 and 16 s: 31 s at most, well inside the hooks' 300 s timeout.
ATTEMPTS = 6
FIRST_DELAY_SECONDS = 1.0
# IAM changes take seconds to reach S3 (AccessDenied meanwhile); the rest is throttling or a busy service.
TRANSIENT_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "Throttling",
        "ThrottlingException",
        "SlowDown",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)


def transient(error: BaseException) -> bool:
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_CODES or status >= 500
    return False


def with_retries(
    work: Callable[[], object],
    sleep: Callable[[float], None],
    *,
    context: Any = None,
    attempts: int = ATTEMPTS,
) -> None:
    """`work()`, again after a transient failure (the hooks' work is idempotent), at most `attempts` times."""
    delay = FIRST_DELAY_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            work()
            return
        except Exception as error:
            if attempt == attempts or not transient(error):
                raise
            log("dashboard release hook retrying", context=context, level="WARNING", attempt=attempt,
                delay=delay, error=repr(error))
            sleep(delay)
            delay *= 2


def run_hook(
    event: Mapping[str, Any],
    codedeploy: Any,
    work: Callable[[str], object],
    *,
    context: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Run `work(deployment_id)` (retrying transient failures) and report its outcome to CodeDeploy. A
    failed report raises, so Lambda retries the invocation rather than leaving the deployment waiting
    for its timeout."""
    deployment_id = event["DeploymentId"]
    execution_id = event["LifecycleEventHookExecutionId"]
    try:
        with_retries(lambda: work(deployment_id), sleep, context=context)
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


# A hook's work on the dashboard bucket: (s3, env, deployment id, Lambda context).
BucketWork = Callable[[Any, Mapping[str, str], str, Any], object]


@dataclass(frozen=True)
class ReleaseHook:
    """A lifecycle hook doing `work` through `run_hook` (retries, then the report to CodeDeploy)."""

    work: BucketWork

    def __call__(
        self,
        event: Mapping[str, Any],
        s3: Any,
        codedeploy: Any,
        env: Mapping[str, str],
        context: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, str]:
        def on_deployment(deployment_id: str) -> object:
            return self.work(s3, env, deployment_id, context)

        return run_hook(event, codedeploy, on_deployment, context=context, sleep=sleep)


def hook_function(hook: ReleaseHook) -> Create:
    """`create(env, clients)` of a hook function: its S3 and CodeDeploy clients from the factory."""

    def create(env: Mapping[str, str], clients: Clients) -> Handler:
        s3, codedeploy = clients.client("s3"), clients.client("codedeploy")
        return lambda event, context: hook(event, s3, codedeploy, env, context)

    return create
