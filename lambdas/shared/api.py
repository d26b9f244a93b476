"""Requests of the platform API (HTTP API, payload 2.0): parsing, validation and a tiny dispatcher.

Every client mistake becomes an `ApiError` with a 4xx status and the one JSON error shape; only our
own faults become a 500, whose details go to the log, never to the client (reference defect 18).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from lambdas.shared.http import error_response
from lambdas.shared.log import log

MAX_BODY_BYTES = 64 * 1024
STATE_CHANGING_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

T = TypeVar("T", bound=BaseModel)


class ApiError(Exception):
    """A refusal the client can understand: status, stable code, human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> dict[str, Any]:
        return error_response(self.status, self.code, self.message)


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class QueryModel(BaseModel):
    """Query parameters: unknown ones are ignored (cache busters, tracking parameters)."""

    model_config = ConfigDict(extra="ignore", str_max_length=1024)


def _describe(err: ValidationError) -> str:
    problems = []
    for e in err.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "body"
        problems.append(f"{where}: {e['msg']}")
    return "; ".join(problems)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    cookies: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    context: Any = None
    # Set by the handler once the caller is known (the authenticated user).
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (400 if empty, invalid or not an object)."""
        try:
            value = json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.") from err
        if not isinstance(value, dict):
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
        return value

    def body(self, model: type[T]) -> T:
        try:
            return model.model_validate(self.json())
        except ValidationError as err:
            raise ApiError(400, "invalid_request", _describe(err)) from err

    def args(self, model: type[T]) -> T:
        try:
            return model.model_validate(self.query)
        except ValidationError as err:
            raise ApiError(400, "invalid_request", _describe(err)) from err


def _cookies(values: Any) -> dict[str, str]:
    """Payload 2.0 sends cookies as `name=value` strings; a repeated name keeps its first value."""
    cookies: dict[str, str] = {}
    for entry in values if isinstance(values, list) else []:
        for part in str(entry).split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value
    return cookies


def parse_request(event: Mapping[str, Any], context: Any = None) -> Request:
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
    path = str(event.get("rawPath") or http.get("path") or "/")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise ApiError(400, "invalid_body", "The request body is malformed.")
    # Cheap guard before decoding: base64 grows 4/3.
    if len(body) > MAX_BODY_BYTES * 2:
        raise ApiError(413, "body_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ApiError(400, "invalid_body", "The request body is not valid base64.") from err
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    return Request(method, path, headers, _cookies(event.get("cookies")), query, raw, context)


Route = Callable[[Request], dict[str, Any]]


def check_origin(request: Request, domain: str) -> None:
    """State-changing calls must come from the dashboard's own origin (CSRF; reference defect 5:
    hosted projects on `*.<domain>` are same-site, so SameSite cookies alone do not stop them)."""
    if request.method in STATE_CHANGING_METHODS and request.headers.get("origin") != f"https://{domain}":
        raise ApiError(403, "bad_origin", "This request must come from the dashboard.")


def dispatch(
    event: Mapping[str, Any],
    context: Any,
    routes: Mapping[str, Route],
    before: Callable[[Request], None] | None = None,
) -> dict[str, Any]:
    """Find the route `"<METHOD> <path>"`, run `before` (origin checks), then the route; map errors."""
    try:
        request = parse_request(event, context)
        route = routes.get(request.route)
        if route is None:
            if any(key.split(" ", 1)[1] == request.path for key in routes):
                raise ApiError(405, "method_not_allowed", "This endpoint does not take that method.")
            raise ApiError(404, "not_found", "No such endpoint.")
        if before:
            before(request)
        return route(request)
    except ApiError as err:
        return err.response()
    except Exception as err:  # our fault: log the details, tell the client nothing internal
        log(
            "request failed",
            context=context,
            level="ERROR",
            error=type(err).__name__,
            detail=str(err)[:2000],
            path=str(event.get("rawPath"))[:200],
        )
        return error_response(500, "internal", "Something went wrong on our side. Please try again.")


def redirect(location: str, cookies: list[str] | None = None) -> dict[str, Any]:
    """A 302 (sign-in flow), with cookies set through the payload 2.0 `cookies` array."""
    return {
        "statusCode": 302,
        "headers": {"location": location, "cache-control": "no-store"},
        "cookies": list(cookies or []),
        "body": "",
        "isBase64Encoded": False,
    }
