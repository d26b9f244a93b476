"""The project edge's CloudFront Functions for the local edge: their exact rendered source in one
long-lived Node.js worker, whose key-value store mirrors the local route store, and the choice of cache
behaviour CloudFront makes before running one."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from battleshiper_cli.local.routes import MemoryRouteStore
from templates import cloudfront_functions, edge

WORKER = Path(__file__).with_name("edge_worker.mjs")


class NodeMissing(RuntimeError):
    pass


class EdgeFunctions:
    """The project edge's two CloudFront Functions in one Node.js process."""

    def __init__(
        self, kvs_id: str, domain: str, routes: Mapping[str, str], stderr: IO[Any] | None = None
    ) -> None:
        node = shutil.which("node")
        if node is None:
            raise NodeMissing("Node.js is needed")
        self.process = subprocess.Popen(
            [node, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        self._lock = threading.Lock()
        self._next = 0
        self._send(
            {
                "functions": {
                    name: cloudfront_functions.render(name, kvs_id, domain)
                    for name in cloudfront_functions.FUNCTIONS
                },
                "kvsId": kvs_id,
                "routes": dict(routes),
            }
        )

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def sync(self, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        with self._lock:
            self._send({"sync": {"puts": dict(puts), "deletes": list(deletes)}})

    def run(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            self._send({"id": self._next, "function": name, "event": event})
            assert self.process.stdout is not None
            answer: dict[str, Any] = json.loads(self.process.stdout.readline() or "{}")
        if "error" in answer or "out" not in answer:
            raise RuntimeError(f"{name} failed: {answer.get('error', 'worker ended')}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class SyncedRouteStore(MemoryRouteStore):
    """The local route store; every write reaches the edge functions' copy before `write` returns, as
    a KeyValueStore update reaches the edge (there with a short delay)."""

    def __init__(self) -> None:
        super().__init__()
        self.edge: EdgeFunctions | None = None

    def written(self, puts: Mapping[str, str], deletes: list[str]) -> None:
        if self.edge is not None:  # under the store's lock: the same order in the edge's copy as here
            self.edge.sync(puts, deletes)


def behaviour(path: str) -> str:
    """The viewer-request function of the cache behaviour CloudFront picks: the immutable assets' own,
    else the default's (which looks the path up in the route store)."""
    if any(fnmatch.fnmatchcase(path, p) for p in edge.STATIC_PATHS):
        return "cache-route"
    return "server-route"
