"""The local stage throttle lets a burst through, refuses beyond it, refills at the rate, and counts
each route on its own."""

from __future__ import annotations

from battleshiper_cli.local.throttle import StageThrottle


def test_a_burst_passes_then_requests_wait_for_the_rate() -> None:
    now = [0.0]
    throttle = StageThrottle(rate=10, burst=3, clock=lambda: now[0])
    assert [throttle.allow("ANY /api/user/{proxy+}") for _ in range(4)] == [True, True, True, False]
    now[0] += 0.1  # one token back at 10 per second
    assert throttle.allow("ANY /api/user/{proxy+}") and not throttle.allow("ANY /api/user/{proxy+}")
    assert throttle.allow("ANY /{proxy+}")  # another route has its own bucket
    now[0] += 100
    assert sum(throttle.allow("ANY /api/user/{proxy+}") for _ in range(10)) == 3  # never above the burst
