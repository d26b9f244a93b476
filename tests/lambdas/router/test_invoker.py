"""The AWS invoker: request shape checked with botocore's Stubber, Lambda's failure modes mapped to the
errors the router turns into statuses."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.router import invoker as inv
from lambdas.router.handler import INVOKE_CONFIG

FUNCTION = "bs-srv-shop"


@pytest.fixture
def client() -> object:
    return boto3.client("lambda", region_name="eu-central-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=INVOKE_CONFIG)


def stubbed(client: object) -> Stubber:
    return Stubber(client)


def test_a_request_response_call_of_the_live_alias(client: object) -> None:
    payload = json.dumps({"rawPath": "/x"}).encode()
    with stubbed(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": io.BytesIO(b'{"statusCode":200}')},
            {"FunctionName": FUNCTION, "Qualifier": "live", "InvocationType": "RequestResponse",
             "Payload": payload},
        )
        assert inv.LambdaInvoker(client).invoke(FUNCTION, "live", payload) == b'{"statusCode":200}'
        stub.assert_no_pending_responses()


def test_the_client_never_retries_an_invocation() -> None:
    assert INVOKE_CONFIG.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert INVOKE_CONFIG.read_timeout < 29  # below the router's own timeout


@pytest.mark.parametrize(
    ("detail", "error"),
    [
        ({"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"},
         inv.FunctionTimedOut),
        ({"errorMessage": "2026-11-28T12:00:00Z abc Task timed out after 3.00 seconds"},
         inv.FunctionTimedOut),
        ({"errorType": "Function.ResponseSizeTooLarge",
          "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes)."},
         inv.ResponseTooLarge),
        ({"errorType": "TypeError", "errorMessage": "x is not a function"}, inv.FunctionFailed),
    ],
)
def test_a_function_error_is_classified(client: object, detail: dict[str, str], error: type) -> None:
    with stubbed(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled",
                                     "Payload": io.BytesIO(json.dumps(detail).encode())})
        with pytest.raises(error):
            inv.LambdaInvoker(client).invoke(FUNCTION, "live", b"{}")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("RequestTooLargeException", inv.RequestTooLarge),
        ("TooManyRequestsException", inv.Throttled),
        ("ServiceException", inv.FunctionFailed),
    ],
)
def test_a_refused_invocation_is_classified(client: object, code: str, error: type) -> None:
    with stubbed(client) as stub:
        stub.add_client_error("invoke", service_error_code=code, http_status_code=400)
        with pytest.raises(error):
            inv.LambdaInvoker(client).invoke(FUNCTION, "live", b"{}")


@pytest.mark.parametrize(
    ("aliases_error", "error"),
    [
        (None, inv.DeploymentNotFound),  # the function is there: only the deployment's alias is missing
        ("ResourceNotFoundException", inv.FunctionNotFound),
        ("AccessDeniedException", inv.DeploymentNotFound),  # cannot tell: transient, retry
    ],
)
def test_a_missing_alias_is_told_from_a_missing_function(client: object, aliases_error: str | None,
                                                         error: type) -> None:
    with stubbed(client) as stub:
        stub.add_client_error("invoke", service_error_code="ResourceNotFoundException", http_status_code=404)
        if aliases_error is None:
            stub.add_response("list_aliases", {"Aliases": []}, {"FunctionName": FUNCTION, "MaxItems": 1})
        else:
            stub.add_client_error("list_aliases", service_error_code=aliases_error, http_status_code=404)
        with pytest.raises(error):
            inv.LambdaInvoker(client).invoke(FUNCTION, "d-20261128T134700-3f9a1c", b"{}")
        stub.assert_no_pending_responses()
