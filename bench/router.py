"""Benchmark: the project edge's per-request costs.

    .venv/bin/python bench/router.py

Prints
- the router's own overhead per request (origin-secret check, header filtering, event and response
  (de)serialisation) with the invoke stubbed, median over 10,000 requests (target <= 50 us);
- the router's cold import time as a ratio to `import boto3` alone, each in a fresh interpreter, median of
  several runs (target <= 1.5);
- each CloudFront Function's deployed size (worst case, against the 10 KB limit) and its per-call time in
  Node (the real code with an in-memory key-value store).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.edge_functions import KVS_ID, LONGEST_DOMAIN  # noqa: E402
from lambdas.router.router import Router  # noqa: E402
from lambdas.shared import names  # noqa: E402
from templates import cloudfront_functions as cff  # noqa: E402

REQUESTS = 10_000
IMPORT_RUNS = 7
SECRET = "s" * 64

# A realistic payload 2.0 event as API Gateway hands it over behind CloudFront.
EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/cart/items",
    "rawQueryString": "page=2&sort=price",
    "cookies": ["session=abc123def456", "theme=dark", "consent=1"],
    "headers": {
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-encoding": "gzip, deflate, br",
        "accept-language": "en-GB,en;q=0.9",
        "host": "r4nd0m1d.execute-api.eu-central-1.amazonaws.com",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0",
        "via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)",
        "x-amz-cf-id": "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6==",
        "x-amzn-trace-id": "Root=1-67890abc-0123456789abcdef01234567",
        "x-forwarded-for": "198.51.100.7, 130.176.0.12",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        names.FORWARDED_HOST_HEADER: "shop.ship.example.com",
        names.PROJECT_HEADER: "shop",
        names.DEPLOYMENT_HEADER: "20261128T120000-0a1b2c",
        names.ORIGIN_SECRET_HEADER: SECRET,
    },
    "queryStringParameters": {"page": "2", "sort": "price"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "r4nd0m1d",
        "domainName": "r4nd0m1d.execute-api.eu-central-1.amazonaws.com",
        "domainPrefix": "r4nd0m1d",
        "http": {"method": "GET", "path": "/cart/items", "protocol": "HTTP/1.1", "sourceIp": "130.176.0.12",
                 "userAgent": "Mozilla/5.0"},
        "requestId": "Tst1dAbCFiAEMpA=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "28/Nov/2026:12:00:00 +0000",
        "timeEpoch": 1795867200000,
    },
    "isBase64Encoded": False,
}
# A typical server-rendered answer (about 4 KB of HTML, two cookies).
RESPONSE = json.dumps({
    "statusCode": 200,
    "headers": {"content-type": "text/html", "etag": '"j0gk2y"', "x-sveltekit-page": "true"},
    "cookies": ["a=1; Path=/; HttpOnly; Secure; SameSite=Lax", "b=2; Path=/; HttpOnly; Secure; SameSite=Lax"],
    "body": "<!doctype html>" + "<p>row</p>" * 400,
    "isBase64Encoded": False,
}).encode()


class StubInvoker:
    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        return RESPONSE


def router_overhead() -> float:
    router = Router(origin_secret=lambda: SECRET, pages=None, invoker=StubInvoker(),  # type: ignore[arg-type]
                    function_prefix="bs-srv-")
    for _ in range(500):  # warm up
        router.handle(EVENT)
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter_ns()
        result = router.handle(EVENT)
        samples.append(time.perf_counter_ns() - start)
    assert result["statusCode"] == 200
    return statistics.median(samples) / 1000


def import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        runs.append(float(out.stdout))
    return statistics.median(runs)


NODE_TIMING = r"""
import { load, viewerRequest } from './tests/edge/harness.mjs';
const routes = { 'a:shop': 'shop', 'l:shop': 'd1', 'p:shop/d1/about': '/about.html' };
const cases = {
  'cache-route': [{ host: 'shop.ship.example.com', uri: '/_app/immutable/entry/app.js' }],
  'server-route': [
    { host: 'shop.ship.example.com', uri: '/about' },
    { host: 'shop.ship.example.com', uri: '/cart', method: 'POST' },
  ],
};
const N = 20000;
const out = {};
for (const [name, requests] of Object.entries(cases)) {
  const { handler } = load(name, { routes });
  for (let i = 0; i < 2000; i++) await handler(viewerRequest(requests[i % requests.length]));
  const events = Array.from({ length: N }, (_, i) => viewerRequest(requests[i % requests.length]));
  const start = process.hrtime.bigint();
  for (const event of events) await handler(event);
  out[name] = Number(process.hrtime.bigint() - start) / N / 1000;
}
console.log(JSON.stringify(out));
"""


def edge_call_times() -> dict[str, float]:
    node = shutil.which("node")
    if node is None:
        return {}
    out = subprocess.run([node, "--input-type=module", "-e", NODE_TIMING], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    times: dict[str, float] = json.loads(out.stdout)
    return times


def main() -> None:
    overhead = router_overhead()
    print(f"router overhead (invoke stubbed): median {overhead:.1f} us over {REQUESTS} requests "
          f"(target <= 50 us) {'OK' if overhead <= 50 else 'OVER'}")
    boto3_s = import_time("boto3")
    router_s = import_time("lambdas.router.handler")
    ratio = router_s / boto3_s
    print(f"cold import: boto3 {boto3_s * 1000:.1f} ms, router {router_s * 1000:.1f} ms, ratio {ratio:.2f} "
          f"(target <= 1.5) {'OK' if ratio <= 1.5 else 'OVER'}")
    times = edge_call_times()
    for name in cff.FUNCTIONS:
        size = cff.rendered_size(name, KVS_ID, LONGEST_DOMAIN)
        per_call = f"{times[name]:.2f} us/call in Node" if name in times else "Node not found"
        print(f"{name:<14} {size:>6} bytes ({size / cff.SIZE_LIMIT:.1%} of {cff.SIZE_LIMIT}), {per_call}")


if __name__ == "__main__":
    main()
