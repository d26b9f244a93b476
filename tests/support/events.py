"""API Gateway HTTP API (payload format 2.0) events, as the platform's functions receive them."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

DOMAIN = "ship.example.com"


def http_event(
    method: str,
    path: str,
    *,
    json_body: Any = None,
    body: str | bytes | None = None,
    base64_encoded: bool = False,
    query: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    origin: str | None = f"https://{DOMAIN}",
) -> dict[str, Any]:
    """`json_body` is serialised; `body` is sent as is (str, or bytes → base64). `origin` is the
    browser's Origin header (None: absent)."""
    if json_body is not None:
        body = json.dumps(json_body)
    if isinstance(body, bytes):
        body, base64_encoded = base64.b64encode(body).decode(), True
    elif base64_encoded and body is not None:
        body = base64.b64encode(body.encode()).decode()
    all_headers = {
        "host": "abc123.execute-api.eu-central-1.amazonaws.com",
        "user-agent": "pytest",
        **({"origin": origin} if origin else {}),
        **(headers or {}),
    }
    if body is not None:
        all_headers.setdefault("content-type", "application/json")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"ANY /{path.strip('/').split('/')[0]}/{{proxy+}}",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": "req-1",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": base64_encoded,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if cookies:
        event["cookies"] = [f"{k}={v}" for k, v in cookies.items()]
    if body is not None:
        event["body"] = body
    return event
