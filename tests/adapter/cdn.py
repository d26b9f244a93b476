"""A test stand-in for the path a viewer's request takes in AWS: CloudFront (behaviour selection, the real
CloudFront Function code run in Node, the origin secret header) -> the S3 origin or API Gateway (payload
2.0 event) -> the router -> the project function (`NodeInvoker`: the built handler in Node)."""

from __future__ import annotations

import base64
import fnmatch
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from lambdas.router.router import Router
from lambdas.shared import names
from templates import edge

EDGE_WORKER = Path(__file__).with_name("edge_worker.mjs")
DOMAIN = "ship.example.com"  # the harness renders the functions for this domain
API_HOST = "r4nd0m1d.execute-api.eu-central-1.amazonaws.com"
VIEWER_IP = "198.51.100.7"
CLOUDFRONT_IP = "130.176.0.12"


@dataclass
class ViewerResponse:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes
    served_by: str  # "edge", "bucket" or "router"

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ViewerRequest:
    path: str
    method: str = "GET"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    body: bytes | None = None
    host: str = f"shop.{DOMAIN}"


def behaviour(path: str) -> str:
    """The viewer-request function of the cache behaviour CloudFront picks (first matching pattern)."""
    for pattern in edge.STATIC_PATHS:
        if fnmatch.fnmatchcase(path, pattern):
            return "cache-route"
    return "server-route"


class Cdn:
    def __init__(self, routes: dict[str, str], router: Router, s3: Any, bucket: str, secret: str,
                 workdir: Path) -> None:
        routes_file = workdir / "routes.json"
        routes_file.write_text(json.dumps(routes))
        node = shutil.which("node")
        assert node, "Node.js is required"
        self._edge = subprocess.Popen([node, str(EDGE_WORKER), str(routes_file)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.router = router
        self._s3 = s3
        self._bucket = bucket
        self._secret = secret
        self.events: list[dict[str, Any]] = []  # what API Gateway handed the router

    def close(self) -> None:
        if self._edge.stdin:
            self._edge.stdin.close()
        self._edge.wait(timeout=10)

    def _run_edge(self, name: str, request: dict[str, Any], origin_selection: bool) -> dict[str, Any]:
        assert self._edge.stdin and self._edge.stdout
        line = {"function": name, "request": request, "originSelection": origin_selection}
        self._edge.stdin.write(json.dumps(line) + "\n")
        self._edge.stdin.flush()
        answer: dict[str, Any] = json.loads(self._edge.stdout.readline())
        return answer

    def request(self, viewer: ViewerRequest, origin_selection: bool = True) -> ViewerResponse:
        querystring: dict[str, Any] = {}
        for key, value in parse_qsl(viewer.query, keep_blank_values=True):
            entry = querystring.setdefault(key, {"value": value, "multiValue": []})
            entry["multiValue"].append({"value": value})
        name = behaviour(viewer.path)
        result = self._run_edge(name, {"host": viewer.host, "uri": viewer.path, "method": viewer.method,
                                       "headers": viewer.headers, "querystring": querystring},
                                origin_selection)
        out = result["out"]
        if "statusCode" in out:  # the function answered itself
            headers = {k: v["value"] for k, v in out.get("headers", {}).items()}
            return ViewerResponse(out["statusCode"], headers, [], out["body"]["data"].encode(), "edge")
        if name == "cache-route" or result["origins"] == [edge.STATIC_ORIGIN]:
            return self._bucket_read(out["uri"], viewer.method)
        return self._api_gateway(viewer, out)

    def _bucket_read(self, uri: str, method: str) -> ViewerResponse:
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=unquote(uri[1:]))  # S3 decodes the path
        except self._s3.exceptions.NoSuchKey:
            return ViewerResponse(403, {}, [], b"AccessDenied", "bucket")  # what OAC answers for a miss
        body = b"" if method == "HEAD" else obj["Body"].read()
        return ViewerResponse(200, {"content-type": obj["ContentType"]}, [], body, "bucket")

    def _api_gateway(self, viewer: ViewerRequest, forwarded: dict[str, Any]) -> ViewerResponse:
        """The payload 2.0 event API Gateway builds from CloudFront's origin request."""
        headers = {k: v["value"] for k, v in forwarded["headers"].items() if k != "host"}
        headers.update({
            "host": API_HOST,
            "x-forwarded-for": ", ".join(filter(None, [viewer.headers.get("x-forwarded-for"), VIEWER_IP])),
            # The worst case: a viewer's own value survives CloudFront and API Gateway.
            "x-forwarded-proto": viewer.headers.get("x-forwarded-proto", "https"),
            "via": "2.0 abc.cloudfront.net (CloudFront)",
            "user-agent": viewer.headers.get("user-agent", "Amazon CloudFront"),
            names.ORIGIN_SECRET_HEADER: self._secret,  # the origin custom header
        })
        if viewer.body is not None:
            headers["content-length"] = str(len(viewer.body))
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(viewer.query, keep_blank_values=True):
            params.setdefault(key, []).append(value)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": forwarded["uri"],
            "rawQueryString": viewer.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": API_HOST.split(".")[0],
                "domainName": API_HOST,
                "domainPrefix": API_HOST.split(".")[0],
                "http": {"method": viewer.method, "path": forwarded["uri"], "protocol": "HTTP/1.1",
                         "sourceIp": CLOUDFRONT_IP, "userAgent": headers["user-agent"]},
                "requestId": "Tst1dAbCFiAEMpA=",
                "routeKey": "$default",
                "stage": "$default",
                "time": "28/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1795867200000,
            },
            "isBase64Encoded": False,
        }
        if viewer.cookies:
            event["cookies"] = list(viewer.cookies)
        if params:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
        if viewer.body is not None:
            # API Gateway base64-encodes bodies it does not take for text; do so always, the harder case.
            event["body"] = base64.b64encode(viewer.body).decode()
            event["isBase64Encoded"] = True
        self.events.append(event)
        result = self.router.handle(json.loads(json.dumps(event)))
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return ViewerResponse(result["statusCode"], dict(result.get("headers") or {}),
                              list(result.get("cookies") or []), raw, "router")

