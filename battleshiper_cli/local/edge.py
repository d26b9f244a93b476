"""The local edge: one HTTP server on loopback in place of both CloudFront distributions.

`localhost` is the dashboard: `/api/<route>/...` goes, as a payload 2.0 event, to the API function the
template's HTTP API routes it to (called in process); everything else to the dashboard's server
function, with the dashboard CDN's origin headers (the origin secret, its own forwarded host).
`<project>.localhost` is the project CDN: CloudFront picks the cache behaviour by path, the two
CloudFront Functions (`edge_functions`) rewrite or answer the request and may select the bucket origin;
the deployment's files (its route keys, and `/_app/immutable/*`) come from the project bucket in moto,
the rest goes through the router function.

CloudFront terminates TLS; the local edge serves plain HTTP on a port. So the platform sees the origins
it would in AWS: a viewer's `Origin: http://<host>:<port>` reaches the functions as `https://<host>`, and
a `Location: https://<host>/...` they answer goes back as `http://<host>:<port>/...`.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from battleshiper_cli.local.edge_functions import EdgeFunctions, behaviour
from battleshiper_cli.local.throttle import TOO_MANY, StageThrottle
from lambdas.router.router import error_page
from lambdas.shared import names
from lambdas.shared.entry import Handler
from templates import edge

VIEWER_IP = "127.0.0.1"
# Hop-by-hop and framing headers: the local edge sets its own.
SKIPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "set-cookie"})

ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def payload_event(
    method: str, path: str, query: str, headers: dict[str, str], cookies: list[str], body: bytes, host: str
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway's HTTP API builds."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": VIEWER_IP,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": f"local-{time.monotonic_ns()}",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    if params:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


class LocalEdge:
    def __init__(
        self,
        *,
        port: int,
        domain: str,
        functions: EdgeFunctions,
        router: Handler,
        s3: Any,
        project_bucket: str,
        origin_secret: str,
        api: Mapping[str, ApiHandler],
        dashboard: ApiHandler,
        api_throttle: StageThrottle | None = None,
        router_throttle: StageThrottle | None = None,
    ) -> None:
        self.port = port
        self.domain = domain
        self.functions = functions
        self.router = router
        self._s3 = s3
        self._bucket = project_bucket
        self._secret = origin_secret
        self._api = dict(api)
        self._dashboard = dashboard
        self.api_throttle = api_throttle
        self.router_throttle = router_throttle
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="edge", daemon=True)

    def start(self) -> LocalEdge:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the viewer's and the platform's addresses ----------------------------------------------------

    def _ours(self, host: str) -> bool:
        return host == self.domain or host.endswith("." + self.domain)

    def inbound_origin(self, value: str) -> str:
        url = urlsplit(value)
        return f"https://{url.hostname}" if url.hostname and self._ours(url.hostname) else value

    def outbound_location(self, value: str) -> str:
        url = urlsplit(value)
        if url.scheme == "https" and url.hostname and self._ours(url.hostname):
            return url._replace(scheme="http", netloc=f"{url.hostname}:{self.port}").geturl()
        return value

    # --- requests -----------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, raw_headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        url = urlsplit(target)
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for key, value in raw_headers:
            key = key.lower()
            if key == "cookie":
                cookies += [c.strip() for c in value.split(";") if c.strip()]
            elif key in ("origin", "referer"):
                headers[key] = self.inbound_origin(value) if key == "origin" else value
            else:
                headers[key] = f"{headers[key]},{value}" if key in headers else value
        host = re.sub(r":\d+$", "", headers.get("host", self.domain)).lower()
        headers["host"] = host  # as CloudFront sees it: no port
        if host == self.domain:
            result = self._dashboard_request(method, url.path or "/", url.query, headers, cookies, body)
        elif host.endswith("." + self.domain):
            result = self._project_request(method, url.path or "/", url.query, headers, cookies, body)
        else:
            result = error_page(404)
        return self._viewer_response(result, method)

    def _viewer_response(
        self, result: dict[str, Any], method: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        out: list[tuple[str, str]] = []
        for key, value in (result.get("headers") or {}).items():
            if key.lower() in SKIPPED_RESPONSE_HEADERS:
                continue
            out.append((key, self.outbound_location(str(value)) if key.lower() == "location" else str(value)))
        for cookie in result.get("cookies") or []:
            out.append(("set-cookie", cookie))
        if method == "HEAD":
            # The length GET would send, without the body: the origin's own when it sent no body (a
            # HEAD of an object), the body's otherwise.
            origin = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
            declared = origin.get("content-length")
            out.append(("content-length", declared if declared and not data else str(len(data))))
            data = b""
        return int(result.get("statusCode", 200)), out, data

    def _dashboard_request(
        self, method: str, path: str, query: str, headers: dict[str, str], cookies: list[str], body: bytes
    ) -> dict[str, Any]:
        # The dashboard CDN's origin custom headers, which replace a viewer's copies.
        headers = {
            **headers, names.ORIGIN_SECRET_HEADER: self._secret, names.FORWARDED_HOST_HEADER: self.domain
        }
        event = payload_event(method, path, query, headers, cookies, body, self.domain)
        parts = path.split("/")
        handler = self._api.get(parts[2]) if len(parts) > 3 and parts[1] == "api" else None
        route = f"ANY /api/{parts[2]}/{{proxy+}}" if handler else "ANY /" if path == "/" else "ANY /{proxy+}"
        if self.api_throttle and not self.api_throttle.allow(route):
            return dict(TOO_MANY)
        return (handler or self._dashboard)(event, None)

    def _project_request(
        self, method: str, path: str, query: str, headers: dict[str, str], cookies: list[str], body: bytes
    ) -> dict[str, Any]:
        name = behaviour(path)
        querystring: dict[str, Any] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            entry = querystring.setdefault(key, {"value": value, "multiValue": []})
            entry["multiValue"].append({"value": value})
        viewer = {
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": VIEWER_IP},
            "request": {
                "method": method,
                "uri": path,
                "querystring": querystring,
                # CloudFront shows functions no x-forwarded-proto (nor lets them set one).
                "headers": {k: {"value": v} for k, v in headers.items() if k != names.FORWARDED_PROTO_HEADER},
                "cookies": {c.split("=", 1)[0]: {"value": c.split("=", 1)[-1]} for c in cookies},
            },
        }
        try:
            answer = self.functions.run(name, viewer)
        except RuntimeError:
            return error_page(502)
        out = answer["out"]
        if "statusCode" in out:  # the function answered itself
            return {
                "statusCode": out["statusCode"],
                "headers": {k: v["value"] for k, v in (out.get("headers") or {}).items()},
                "body": (out.get("body") or {}).get("data", "")
                if isinstance(out.get("body"), dict)
                else out.get("body") or "",
            }
        if name == "cache-route" or answer["origins"] == [edge.STATIC_ORIGIN]:
            return self._bucket_read(out["uri"], method)
        forwarded = {
            k: v["value"] for k, v in (out.get("headers") or {}).items() if k not in ("host", "cookie")
        }
        forwarded.update(
            {
                "host": f"{self.domain}.local-router",  # the router API's own host, as API Gateway sees it
                "x-forwarded-for": VIEWER_IP,
                "x-forwarded-proto": "https",
                names.ORIGIN_SECRET_HEADER: self._secret,  # the distribution's origin custom header
            }
        )
        if body:
            forwarded["content-length"] = str(len(body))
        event = payload_event(method, out["uri"], query, forwarded, cookies, body, forwarded["host"])
        route = "ANY /" if out["uri"] == "/" else "$default"  # the router API's two routes
        if self.router_throttle and not self.router_throttle.allow(route):
            return dict(TOO_MANY)
        return dict(self.router(event, None))

    def _bucket_read(self, uri: str, method: str) -> dict[str, Any]:
        """The S3 origin through origin access control: the key is the decoded URI path (S3 decodes
        it); a missing object is a 403."""
        try:
            obj = (self._s3.head_object if method == "HEAD" else self._s3.get_object)(
                Bucket=self._bucket, Key=unquote(uri[1:], errors="strict")
            )
        except Exception:
            return {
                "statusCode": 403,
                "headers": {"content-type": "application/xml"},
                "body": "<Error><Code>AccessDenied</Code></Error>",
            }
        data = b"" if method == "HEAD" else obj["Body"].read()
        headers = {"content-type": obj.get("ContentType") or "application/octet-stream"}
        if obj.get("CacheControl"):
            headers["cache-control"] = obj["CacheControl"]
        if obj.get("ETag"):
            headers["etag"] = obj["ETag"]
        if "ContentLength" in obj:
            headers["content-length"] = str(obj["ContentLength"])
        return {
            "statusCode": 200,
            "headers": headers,
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        local = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response (flushed after each request), no Nagle: keep-alive clients would
            # otherwise wait for a delayed ACK between the headers and the body.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = local.handle(
                        self.command, self.path, list(self.headers.items()), body
                    )
                except Exception as err:  # a bug here must not take the edge down
                    print(f"edge: {self.command} {self.path}: {err!r}", flush=True)
                    status, headers, data = 502, [("content-type", "text/plain")], b"local edge error"
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                if not any(key.lower() == "content-length" for key, _ in headers):  # a HEAD sets its own
                    self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        return Handler
