"""API Gateway's stage throttling, locally: a token bucket per route (HTTP APIs apply a stage's default
route settings to each route), refilled at the rate and holding at most the burst. Beyond it a request
is answered as API Gateway answers it, 429 with `{"message":"Too Many Requests"}`, without reaching the
function."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

TOO_MANY = {
    "statusCode": 429,
    "headers": {"content-type": "application/json"},
    "body": json.dumps({"message": "Too Many Requests"}),
}


class StageThrottle:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # route -> (tokens, when)
        self._guard = threading.Lock()

    def allow(self, route: str) -> bool:
        now = self._clock()
        with self._guard:
            tokens, then = self._buckets.get(route, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[route] = (tokens - 1.0 if allowed else tokens, now)
        return allowed
