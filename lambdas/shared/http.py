"""Responses in the shape API Gateway HTTP APIs (payload format 2.0) expect from a Lambda proxy."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

JSON_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    # API answers are per user: never let a CDN or browser cache them.
    "cache-control": "no-store",
}


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A JSON response; `headers` add to (or override) the JSON defaults, `cookies` are full
    `Set-Cookie` values."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **{k.lower(): v for k, v in (headers or {}).items()}},
        "cookies": list(cookies or []),
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        "isBase64Encoded": False,
    }


def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    """The one error shape of the API: `{"error": {"code": ..., "message": ...}}`. `message` is
    for people and must not carry internals (reference defect 18): log those instead."""
    return json_response(status, {"error": {"code": code, "message": message}})
