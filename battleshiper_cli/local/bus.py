"""Local event delivery. In AWS, EventBridge rules invoke the pipeline functions and submit Batch jobs;
moto cannot invoke Lambda targets (see docs/LOCAL.md). The local bus takes the platform's `put_events`
calls (it stands in for the `events` client the handlers get), records each event in moto too, and
hands it to every rule whose own pattern (from the template) matches, asynchronously, like EventBridge.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from battleshiper_cli.local.aws import ACCOUNT, REGION
from battleshiper_cli.local.patterns import matches

Target = Callable[[dict[str, Any]], None]


@dataclass
class LocalRule:
    name: str
    bus: str
    pattern: Mapping[str, Any]
    target: Target


class LocalBus:
    def __init__(self, moto_events: Any, log: Callable[[str], None] = print) -> None:
        self._moto = moto_events
        self._log = log
        self._rules: dict[str, LocalRule] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bus")
        self._pending = 0
        self._idle = threading.Condition()

    def add_rule(self, rule: LocalRule) -> None:
        with self._lock:
            self._rules[rule.name] = rule

    def remove_rule(self, name: str) -> None:
        with self._lock:
            self._rules.pop(name, None)

    def rule_names(self) -> list[str]:
        with self._lock:
            return sorted(self._rules)

    # The part of the `events` client the handlers use.
    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        answers = []
        for entry in Entries:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ACCOUNT,
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry.get("Detail") or "{}"),
            }
            self.publish(entry.get("EventBusName") or "default", event)
            answers.append({"EventId": event["id"]})
        return {"FailedEntryCount": 0, "Entries": answers}

    def publish(self, bus: str, event: dict[str, Any]) -> None:
        """Put one event on `bus`: recorded in moto, delivered to every matching rule's target."""
        try:
            self._moto.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "EventBusName": bus,
                    }
                ]
            )
        except Exception as err:  # the record is for inspection only; delivery below is what counts
            self._log(f"event not recorded in moto: {err!r}")
        with self._lock:
            chosen = [r for r in self._rules.values() if r.bus == bus and matches(r.pattern, event)]
        for rule in chosen:
            with self._idle:
                self._pending += 1
            self._pool.submit(self._deliver, rule, event)

    def _deliver(self, rule: LocalRule, event: dict[str, Any]) -> None:
        try:
            rule.target(event)
        except Exception:
            self._log(
                f"rule {rule.name}: target failed for {event['detail-type']}:\n{traceback.format_exc()}"
            )
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 60) -> bool:
        """Until every delivered event has been handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._moto, name)
