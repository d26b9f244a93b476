"""What the router does with one request from the project CDN.

Only requests carrying the CDN's origin secret are served: the edge sets the project, deployment and
forwarded-host headers after dropping any viewer copies, so behind the secret they can be trusted
(reference defect 3). Prerendered pages marked by the edge (and `.html` paths) are read from the
deployment's prefix in the project bucket; everything else goes to the project's function at the alias of
the deployment the edge resolved (`d-<deployment>`), so a request meets the pages and the server code of
one deployment even while the live deployment switches. The payload 2.0 event goes to the function intact
(but for the edge's own headers and `x-forwarded-proto`, which is always `https`), and its answer comes
back intact.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from lambdas.router import invoker as inv
from lambdas.router.pages import Page, S3Pages
from lambdas.shared import names
from lambdas.shared.log import log

# Headers only the edge and CloudFront may set; the app never sees them.
INTERNAL_HEADERS = frozenset(
    {names.ORIGIN_SECRET_HEADER, names.PROJECT_HEADER, names.DEPLOYMENT_HEADER, names.PAGE_HEADER}
)
READ_METHODS = frozenset({"GET", "HEAD"})
RETRY_AFTER = "5"  # seconds; about how long a route-store update takes to reach every edge location
TEXT_PREFIXES = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml")

UPDATING = "The site is being updated. Please try again in a moment."
_ERRORS = {
    403: ("Forbidden", "This address can only be reached through the site's own domain."),
    404: ("Not found", "There is nothing at this address."),
    413: ("Request too large", "The request is larger than this site accepts."),
    502: ("Bad gateway", "The site could not answer this request."),
    503: ("Unavailable", "The site is busy. Please try again in a moment."),
    504: ("Gateway timeout", "The site took too long to answer."),
}


def error_page(status: int, message: str | None = None) -> dict[str, Any]:
    """A short HTML page; fixed text only, nothing about the request or the failure (logged instead)."""
    title, default = _ERRORS[status]
    message = message or default
    headers = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
    if status == 503:
        headers["retry-after"] = RETRY_AFTER
    return {
        "statusCode": status,
        "headers": headers,
        "cookies": [],
        "body": f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><p>{message}</p></html>",
        "isBase64Encoded": False,
    }


class Router:
    def __init__(
        self,
        origin_secret: Callable[[], str],
        pages: S3Pages,
        invoker: inv.Invoker,
        function_prefix: str,
    ) -> None:
        self._origin_secret = origin_secret
        self._pages = pages
        self._invoker = invoker
        self._function_prefix = function_prefix

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        headers = event.get("headers") or {}
        if not self._from_edge(headers.get(names.ORIGIN_SECRET_HEADER), context):
            return error_page(403)
        project = headers.get(names.PROJECT_HEADER, "")
        if not names.valid_project_name(project):
            return error_page(404)
        method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
        path = event.get("rawPath") or "/"
        if method in READ_METHODS and (names.PAGE_HEADER in headers or path.endswith(".html")):
            return self._page(project, headers, path, method, context)
        return self._server(project, event, headers, context)

    def _from_edge(self, presented: str | None, context: Any) -> bool:
        if not presented:
            return False
        try:
            expected = self._origin_secret()
        except Exception as e:  # no secret, no way to tell: refuse
            log("origin secret unavailable", context=context, level="ERROR", error=type(e).__name__)
            return False
        return hmac.compare_digest(presented.encode(), expected.encode())

    def _page(self, project: str, headers: dict[str, str], path: str, method: str,
              context: Any) -> dict[str, Any]:
        deployment = headers.get(names.DEPLOYMENT_HEADER, "")
        if not names.valid_deployment_id(deployment):
            return error_page(404)
        prefix = names.deployment_prefix(project, deployment)
        key = unquote(path[1:])
        # The edge rewrote a page to its full key; a plain `.html` path is relative to the deployment.
        if names.PAGE_HEADER not in headers:
            key = prefix + key
        elif not key.startswith(prefix):
            return error_page(404)
        try:
            page = self._pages.read(key, head=method == "HEAD", if_none_match=headers.get("if-none-match"))
        except Exception as e:
            log("page read failed", context=context, level="ERROR", key=key, error=repr(e)[:300])
            return error_page(502)
        return error_page(404) if page is None else page_response(page)

    def _server(self, project: str, event: dict[str, Any], headers: dict[str, str],
                context: Any) -> dict[str, Any]:
        function = self._function_prefix + project
        deployment = headers.get(names.DEPLOYMENT_HEADER, "")
        if not names.valid_deployment_id(deployment):
            # Only the edge sets it (from the route store): a bad value is the platform's fault.
            log("no valid deployment from the edge", context=context, level="ERROR", function=function,
                deployment=deployment[:80])
            return error_page(502)
        qualifier = names.deployment_alias(deployment)
        forwarded = dict(event)
        forwarded["headers"] = {k: v for k, v in headers.items() if k not in INTERNAL_HEADERS}
        # Whatever a viewer sent: CloudFront only passes HTTPS requests on (plain HTTP is redirected).
        forwarded["headers"][names.FORWARDED_PROTO_HEADER] = "https"
        payload = json.dumps(forwarded, separators=(",", ":")).encode()
        try:
            raw = self._invoker.invoke(function, qualifier, payload)
            if len(raw) > inv.PAYLOAD_LIMIT:
                raise inv.ResponseTooLarge(f"{len(raw)} bytes")
            response = json.loads(raw)
        except inv.DeploymentNotFound as e:
            # The edge resolved this deployment, so its alias should exist: the route store reached the
            # edge before (or after) the deploy, or the deployment is being removed. Transient, and never
            # the viewer's doing (viewers cannot choose the deployment).
            log("deployment alias missing", context=context, level="ERROR", function=function,
                qualifier=qualifier, detail=str(e))
            return error_page(503, UPDATING)
        except inv.InvokeError as e:
            status = _STATUS.get(type(e), 502)
            log("function failed", context=context, level="WARN" if status == 404 else "ERROR",
                function=function, qualifier=qualifier, error=type(e).__name__, detail=str(e))
            return error_page(status)
        except ValueError:
            log("function answered no JSON", context=context, level="ERROR", function=function,
                qualifier=qualifier)
            return error_page(502)
        if not valid_response(response):
            log("function answered no payload 2.0 response", context=context, level="ERROR",
                function=function, qualifier=qualifier)
            return error_page(502)
        return response


_STATUS: dict[type, int] = {
    inv.FunctionNotFound: 404,
    inv.RequestTooLarge: 413,
    inv.Throttled: 503,
    inv.FunctionTimedOut: 504,
    inv.ResponseTooLarge: 502,
    inv.FunctionFailed: 502,
}


def valid_response(response: Any) -> bool:
    """The structured payload 2.0 result API Gateway understands: an int status, a string body (a
    non-string body is what makes the reference redirect to its error page, defect 84)."""
    if not isinstance(response, dict):
        return False
    status = response.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return False
    body = response.get("body")
    if body is not None and not isinstance(body, str):
        return False
    headers = response.get("headers")
    if headers is not None and not isinstance(headers, dict):
        return False
    cookies = response.get("cookies")
    return cookies is None or (isinstance(cookies, list) and all(isinstance(c, str) for c in cookies))


def page_response(page: Page) -> dict[str, Any]:
    content_type = page.headers.get("content-type", "")
    if content_type.startswith(TEXT_PREFIXES):
        try:
            body, encoded = page.body.decode(), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(page.body).decode(), True
    else:
        body, encoded = base64.b64encode(page.body).decode(), bool(page.body)
    return {"statusCode": page.status, "headers": page.headers, "cookies": [], "body": body,
            "isBase64Encoded": encoded}
