"""The webhook function as Lambda runs it (template environment and role): oversized bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from lambdas.api.webhook import MAX_BODY_BYTES
from tests.lambdas.api.conftest import Api, body


def delivery(api: Api, raw: bytes, delivery: str, *, b64: bool = False, **headers: str) -> dict[str, Any]:
    secret = api.github.secret()["webhook_secret"].encode()
    event = {
        "body": base64.b64encode(raw).decode() if b64 else raw.decode(),
        "isBase64Encoded": b64,
        "headers": {"x-github-event": "ping", "x-github-delivery": delivery,
                    "x-hub-signature-256": "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest(),
                    **headers},
    }
    response: dict[str, Any] = api.platform.handler("lambdas.api.webhook.handler")(event, None)
    return response


def test_a_body_over_the_limit_is_refused_with_413_before_anything_else(api: Api) -> None:
    padding = json.dumps({"zen": "x" * MAX_BODY_BYTES}).encode()
    for b64 in (False, True):  # measured on the event, undecoded
        response = delivery(api, padding, f"big-{b64}", b64=b64)
        assert response["statusCode"] == 413, response["body"]
        assert body(response)["error"]["code"] == "payload_too_large"
    # A declared Content-Length over the limit is refused without looking at the body.
    declared = delivery(api, b"{}", "declared", **{"Content-Length": str(MAX_BODY_BYTES + 1)})
    assert declared["statusCode"] == 413
    # Nothing of a refused delivery was recorded: the same delivery id, small, is handled.
    assert delivery(api, b"{}", "declared")["statusCode"] == 200
    assert delivery(api, json.dumps({"zen": "x" * 1000}).encode(), "fits", b64=True)["statusCode"] == 200
