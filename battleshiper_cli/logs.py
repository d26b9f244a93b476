"""A project's logs: the four log groups merged in time order, read or followed.

Each group is read through its own `filter_log_events` paginator; `heapq.merge` interleaves the
groups lazily, so at most one page per group is held in memory however many events a window holds.
Following re-reads a short overlap before the previous poll (events reach CloudWatch a little after
their timestamp) and drops events it has already printed by their `eventId`: nothing is printed
twice and nothing arriving late by less than the overlap is missed.
"""

from __future__ import annotations

import functools
import heapq
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import botocore.exceptions

from battleshiper_cli.errors import UsageError
from lambdas.shared.names import PROJECT_LOG_KINDS, Names

DEFAULT_SINCE = "1h"
DEFAULT_FOLLOW_SINCE = "10m"
POLL_SECONDS = 3.0  # FilterLogEvents allows only a few requests per second per account and region
OVERLAP_MS = 30_000  # how late an event may reach CloudWatch and still be followed
MAX_BACKOFF_SECONDS = 60.0
PAGE_LIMIT = 10_000  # the FilterLogEvents maximum
THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "LimitExceededException"}

KIND_STYLES = {"event": "cyan", "build": "magenta", "deploy": "green", "server": "yellow"}
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@functools.lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


_quote = json.encoder.encode_basestring  # the C string encoder of `json`


class LogEvent(NamedTuple):
    """One event (a tuple: tens of thousands stream through here, so it is cheap to build)."""

    timestamp: int  # milliseconds since the epoch
    kind: str
    stream: str
    message: str
    event_id: str

    @property
    def time(self) -> str:
        """ISO 8601, UTC, milliseconds (events of one second share the formatted second)."""
        seconds, millis = divmod(self.timestamp, 1000)
        return f"{_second(seconds)}.{millis:03d}Z"

    def as_json(self) -> str:
        """One JSON object: timestamp, kind, stream, message, id (written by hand: this is the hot path
        of `logs --output json`, and kind, time and id need no escaping)."""
        seconds, millis = divmod(self.timestamp, 1000)
        return (f'{{"timestamp": "{_second(seconds)}.{millis:03d}Z", "kind": "{self.kind}", '
                f'"stream": {_quote(self.stream)}, "message": {_quote(self.message)}, '
                f'"id": {_quote(self.event_id)}}}')


def parse_time(value: str, now: float, option: str = "") -> int:
    """`30s`, `10m`, `2h`, `3d`, `1w` ago, or an ISO 8601 date/time (UTC unless it names a zone),
    as milliseconds since the epoch. `option` names the flag the value came from, for the error."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return int((now - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]) * 1000)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise UsageError(f"{option + ': ' if option else ''}cannot read the time {value!r}",
                         hint="use a duration such as 30s, 10m, 2h, 3d, 1w or an ISO time such as "
                              "2026-05-01T12:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def window(since: str | None, until: str | None, *, follow: bool, now: float) -> tuple[int, int | None]:
    """The time range to read: `since` (its default depends on following) up to `until`, if given."""
    start = parse_time(since or (DEFAULT_FOLLOW_SINCE if follow else DEFAULT_SINCE), now, option="--since")
    end = parse_time(until, now, option="--until") if until else None
    if end is not None and end < start:
        raise UsageError("--until is before --since")
    return start, end


def log_groups(names: Names, project: str, kind: str = "all") -> dict[str, str]:
    """Log group by kind, in the order ties are printed."""
    kinds = PROJECT_LOG_KINDS if kind == "all" else (kind,)
    return {k: names.project_log_group(project, k) for k in kinds}


def is_throttling(err: botocore.exceptions.ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in THROTTLING_CODES


class LogReader:
    """Reads the given log groups (kind -> group name) as one stream. Time is injected (`clock` in
    seconds, `sleep`) so tests drive the follow loop without waiting."""

    def __init__(
        self,
        logs: Any,
        groups: Mapping[str, str],
        *,
        pattern: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = POLL_SECONDS,
        overlap_ms: int = OVERLAP_MS,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.logs = logs
        self.groups = dict(groups)
        self.pattern = pattern
        self.clock = clock
        self.sleep = sleep
        self.poll_seconds = poll_seconds
        self.overlap_ms = overlap_ms
        self.on_idle = on_idle
        self.backoffs: list[float] = []  # every throttling pause, for the operator and the tests

    def group(self, kind: str, start: int, end: int | None, limit: int | None) -> Iterator[LogEvent]:
        """One group's events from `start` to `end` (inclusive), oldest first; none if the group does
        not exist (yet)."""
        kwargs: dict[str, Any] = {"logGroupName": self.groups[kind], "startTime": start, "interleaved": True,
                                  "PaginationConfig": {"PageSize": PAGE_LIMIT}}
        if end is not None:
            kwargs["endTime"] = end
        if self.pattern:
            kwargs["filterPattern"] = self.pattern
        if limit is not None:
            kwargs["PaginationConfig"]["MaxItems"] = limit
        try:
            for page in self.logs.get_paginator("filter_log_events").paginate(**kwargs):
                for e in page.get("events", ()):
                    yield LogEvent(e["timestamp"], kind, e.get("logStreamName", ""),
                                   e.get("message", "").rstrip("\n"), e["eventId"])
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def read(self, start: int, end: int | None = None, limit: int | None = None) -> Iterator[LogEvent]:
        """Every group's events in one time-ordered stream (ties: in the order of `groups`)."""
        streams = [self.group(kind, start, end, limit) for kind in self.groups]
        merged = heapq.merge(*streams, key=lambda e: e.timestamp)
        if limit is None:
            yield from merged
            return
        for count, event in enumerate(merged):
            if count >= limit:
                return
            yield event

    def follow(self, start: int) -> Iterator[LogEvent]:
        """Events from `start` on, polling until the consumer stops; each one exactly once."""
        seen: dict[str, int] = {}  # eventId -> timestamp, for events inside the current window
        window_start = start
        backoff = self.poll_seconds
        while True:
            poll_started = int(self.clock() * 1000)
            try:
                for event in self.read(window_start):
                    if event.event_id not in seen:
                        seen[event.event_id] = event.timestamp
                        yield event
            except botocore.exceptions.ClientError as err:
                if not is_throttling(err):
                    raise
                # Keep the window: the next poll re-reads it and `seen` drops what was printed.
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                self.backoffs.append(backoff)
                self._idle(backoff)
                continue
            backoff = self.poll_seconds
            window_start = max(start, poll_started - self.overlap_ms)
            seen = {i: ts for i, ts in seen.items() if ts >= window_start}
            self._idle(self.poll_seconds)

    def _idle(self, seconds: float) -> None:
        if self.on_idle:
            self.on_idle()
        self.sleep(seconds)
