"""The route store's data, in memory: what the local platform's KeyValueStore stand-in serves (moto has
no KeyValueStore data plane), with the service's ETag semantics."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from lambdas.shared.routes import RouteStoreConflict


class MemoryRouteStore:
    """In-process store with the same ETag semantics (thread-safe)."""

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self.data: dict[str, str] = dict(data or {})
        self.version = 0
        self.lock = threading.Lock()

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def etag(self) -> str:
        return f"v{self.version}"

    def write(self, etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        deletes = list(deletes)
        with self.lock:
            if etag != self.etag():
                raise RouteStoreConflict(etag)
            self.data.update(puts)
            for key in deletes:
                self.data.pop(key, None)
            self.version += 1
            self.written(puts, deletes)

    def written(self, puts: Mapping[str, str], deletes: list[str]) -> None:
        """After each write, still under the lock (so in write order): for a store that mirrors it."""
