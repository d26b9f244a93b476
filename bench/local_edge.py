"""Benchmark: requests per second through the local edge, against the built SvelteKit handler called
directly, in the same run.

    .venv/bin/python bench/local_edge.py [--requests 300]

Starts the local platform (moto, the local edge, the runners) on a free port, builds and deploys the
sample project through the real pipeline, then times, one request after another over one keep-alive
connection: a static asset, a prerendered page (without `.html`) and an SSR page. The baseline is the
project's built handler (the live version's code from moto's Lambda) in a Node.js worker, called with
the payload 2.0 event for the same path. Prints requests/s of both and their ratio (edge / direct).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from battleshiper_cli.local.aws import free_port  # noqa: E402
from battleshiper_cli.local.edge import payload_event  # noqa: E402
from battleshiper_cli.local.functions import function_code  # noqa: E402
from battleshiper_cli.local.node import NodeInvoker  # noqa: E402
from battleshiper_cli.local.platform import SAMPLE_PROJECT, LocalPlatform  # noqa: E402
from lambdas.shared import names  # noqa: E402

PATHS = {"static asset": "/robots.txt", "prerendered page": "/docs", "SSR page": "/ssr"}


def edge_rate(port: int, host: str, path: str, count: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    for _ in range(count):
        connection.request("GET", path, headers={"host": host})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def direct_rate(invoker: NodeInvoker, host: str, path: str, count: int) -> float:
    event = payload_event("GET", path, "", {"host": host, names.FORWARDED_HOST_HEADER: host}, [], b"", host)
    payload = json.dumps(event).encode()
    started = time.perf_counter()
    for _ in range(count):
        answer = json.loads(invoker.invoke("app", names.LIVE_ALIAS, payload))
        assert answer["statusCode"] in (200, 404), answer["statusCode"]
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        platform = LocalPlatform(free_port(), Path(data), log=lambda _line: None)
        platform.start()
        try:
            platform.create_sample()
            host = f"{SAMPLE_PROJECT}.localhost"
            function = platform.names.project_function(SAMPLE_PROJECT)
            version = platform.aws.client("lambda").get_alias(FunctionName=function, Name=names.LIVE_ALIAS)[
                "FunctionVersion"
            ]
            folder = Path(data) / "direct"
            folder.mkdir()
            (folder / "code.zip").write_bytes(function_code(function, version))
            from battleshiper_cli.local.node import extract_handler

            invoker = NodeInvoker({"app": extract_handler(folder / "code.zip", folder / "code")})
            try:
                print(f"{'path':<18} {'edge req/s':>11} {'direct req/s':>13} {'ratio':>6}")
                for label, path in PATHS.items():
                    edge_rate(platform.port, host, path, 20)  # warm up
                    direct_rate(invoker, host, path, 20)
                    edge = edge_rate(platform.port, host, path, args.requests)
                    direct = direct_rate(invoker, host, path, args.requests)
                    print(f"{label:<18} {edge:>11.0f} {direct:>13.0f} {edge / direct:>6.2f}")
            finally:
                invoker.close()
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
