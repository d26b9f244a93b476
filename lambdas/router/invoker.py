"""How the router calls a project's server function: a narrow seam with the AWS implementation here and a
local one (`battleshiper_cli.local.node.NodeInvoker`, the built handler in Node) for tests and the local
platform."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import ClientError, ReadTimeoutError

# Lambda's limit on a synchronous invocation's request and response payload.
PAYLOAD_LIMIT = 6 * 1024 * 1024


class InvokeError(Exception):
    """The function could not give an answer; `str()` is for the log, never for the response."""


class FunctionNotFound(InvokeError):
    pass


class DeploymentNotFound(InvokeError):
    """The function is there, the alias asked for (a deployment's) is not."""


class FunctionFailed(InvokeError):
    pass


class FunctionTimedOut(InvokeError):
    pass


class ResponseTooLarge(InvokeError):
    pass


class RequestTooLarge(InvokeError):
    pass


class Throttled(InvokeError):
    pass


class Invoker(Protocol):
    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        """The function's response payload; raises an `InvokeError`."""
        ...


def function_error(payload: bytes) -> InvokeError:
    """The error a failed invocation's payload describes (Lambda sets `FunctionError` and sends
    `{"errorType", "errorMessage"}`)."""
    try:
        detail = json.loads(payload)
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    kind, message = str(detail.get("errorType", "")), str(detail.get("errorMessage", ""))
    text = f"{kind}: {message}"[:500]
    if kind == "Sandbox.Timedout" or "Task timed out" in message:
        return FunctionTimedOut(text)
    if kind == "Function.ResponseSizeTooLarge" or "payload size exceeded" in message:
        return ResponseTooLarge(text)
    return FunctionFailed(text)


class LambdaInvoker:
    """`lambda:InvokeFunction`, request-response. The client should not retry (a POST must not run twice)
    and should give up before the router's own timeout."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        try:
            response = self._client.invoke(
                FunctionName=function, Qualifier=qualifier, InvocationType="RequestResponse", Payload=payload
            )
        except ReadTimeoutError as e:
            raise FunctionTimedOut(str(e)) from e
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise self._not_found(function, qualifier) from e
            if code == "RequestTooLargeException":
                raise RequestTooLarge(code) from e
            if code in ("TooManyRequestsException", "ResourceConflictException", "ResourceNotReadyException"):
                raise Throttled(code) from e
            raise FunctionFailed(code) from e
        body: bytes = response["Payload"].read()
        if response.get("FunctionError"):
            raise function_error(body)
        return body

    def _not_found(self, function: str, qualifier: str) -> InvokeError:
        """Lambda answers a missing function and a missing alias alike; the function's aliases tell
        them apart (one more call, on this error path only, that reveals no code or configuration)."""
        try:
            self._client.list_aliases(FunctionName=function, MaxItems=1)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code", "") == "ResourceNotFoundException":
                return FunctionNotFound(function)
            return DeploymentNotFound(f"{function}:{qualifier} (unclassified)")  # treat as transient
        return DeploymentNotFound(f"{function}:{qualifier}")
