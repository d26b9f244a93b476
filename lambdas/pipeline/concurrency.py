"""Each project's server function runs at most `function_concurrency` instances at once (the owner's
subscription), reserved with PutFunctionConcurrency before every new version is published: one busy or
attacked app is throttled on its own (the router answers 503) instead of taking the account's Lambda
concurrency from the platform's API, router and pipeline and from every other project. A changed
subscription applies at the project's next deployment.

Lambda keeps at least 100 executions of the account's quota unreserved; a reservation that would go
below refuses the deploy with the reason, and the live deployment keeps serving."""

from __future__ import annotations

from botocore.exceptions import ClientError

from lambdas.shared.deps import Deps
from lambdas.shared.models import Limits


class DeployRefused(Exception):
    """The deploy cannot go on, and retrying will not help; the message says why, for the user."""


def reserve(deps: Deps, function: str, limits: Limits) -> None:
    wanted = limits.function_concurrency
    try:
        deps.lambda_.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=wanted)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("InvalidParameterValueException",
                                                             "LimitExceededException"):
            raise
        raise DeployRefused(
            f"the account cannot reserve {wanted} concurrent executions for this project's server "
            "function (Lambda keeps 100 unreserved); raise the account's Lambda concurrency quota or "
            "lower the subscription's function_concurrency"
        ) from err
