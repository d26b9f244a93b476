"""Benchmark: 50,000 log events through `battleshiper project logs --output json`, against moto's
CloudWatch Logs (in process), compared with a bare boto3 `filter_log_events` paginator over the same
groups and window in the same run.

    .venv/bin/python bench/logs.py [--events 50000] [--rounds 3]

Prints the events written, the peak memory the command allocated while streaming them (tracemalloc,
in a separate round so tracing does not slow the timed rounds; target <= 120 MB), and the throughput
of the command as a ratio to the bare paginator (target >= 0.8).

Throughput is the streaming rate: each side is also run over an empty window, and its time there (the
fixed start-up: for the command its session, the platform-stack and project checks; for the paginator
its session and client) is subtracted, so the ratio compares what each event costs. The start-up and
the end-to-end times are printed too. Times are CPU time of this process (moto runs in it), the best
of the rounds, so other load on the machine disturbs them less. Exits 1 if a target is missed or an
event is lost.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battleshiper_cli.main import app
from lambdas.shared.names import PROJECT_LOG_KINDS
from tests.cli.project_support import NAMES, REGION, platform_world, seed

MEMORY_TARGET_MB = 120
RATIO_TARGET = 0.8
BATCH = 5_000  # events per PutLogEvents (well inside its 10,000 events / 1 MB limits)


class Sink:
    """stdout that counts lines and keeps nothing (the output is not part of what is measured)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


def fill(logs: Any, total: int, start_ms: int) -> None:
    """`total` events spread over the four groups (two streams each), a millisecond apart."""
    per_kind = total // len(PROJECT_LOG_KINDS)
    for k, kind in enumerate(PROJECT_LOG_KINDS):
        group = NAMES.project_log_group("blog", kind)
        logs.create_log_group(logGroupName=group)
        for s in range(2):
            logs.create_log_stream(logGroupName=group, logStreamName=f"stream-{s}")
        count = per_kind + (total - per_kind * len(PROJECT_LOG_KINDS) if k == 0 else 0)
        line = '{{"level":"INFO","message":"{kind} line {i}","request_id":"r-{i:08d}","path":"/p/{p}"}}'
        events = [(start_ms + i * len(PROJECT_LOG_KINDS) + k, line.format(kind=kind, i=i, p=i % 97))
                  for i in range(count)]
        for s in range(2):
            mine = events[s::2]
            for b in range(0, len(mine), BATCH):
                logs.put_log_events(logGroupName=group, logStreamName=f"stream-{s}",
                                    logEvents=[{"timestamp": t, "message": m} for t, m in mine[b:b + BATCH]])


def run_command(*window: str) -> tuple[int, float]:
    sink = Sink()
    started = time.process_time()
    with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
        try:
            app(["--region", REGION, "--output", "json", "project", "logs", "blog", *window],
                standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code:
                raise
    return sink.lines, time.process_time() - started


def run_bare(start_ms: int, end_ms: int) -> tuple[int, float]:
    """A fresh session and client, as a separate program reading the same groups would have."""
    started = time.process_time()
    logs = boto3.session.Session().client("logs", region_name=REGION)
    count = 0
    for kind in PROJECT_LOG_KINDS:
        paginator = logs.get_paginator("filter_log_events")
        pages = paginator.paginate(logGroupName=NAMES.project_log_group("blog", kind), startTime=start_ms,
                                   endTime=end_ms, interleaved=True, PaginationConfig={"PageSize": 10_000})
        for page in pages:
            count += len(page["events"])
    return count, time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    monkeypatch = pytest.MonkeyPatch()
    with platform_world(monkeypatch) as world:
        seed(world)
        now_ms = int(time.time() * 1000)
        start_ms = now_ms - 50 * 60_000  # spread over the last ~50 minutes
        fill(world.logs, args.events, start_ms - 1)
        full, empty = ("--since", "55m"), ("--since", "3h", "--until", "2h")

        times: dict[str, list[float]] = {"ours": [], "ours_empty": [], "bare": [], "bare_empty": []}
        for _ in range(args.rounds):
            written, elapsed = run_command(*full)
            times["ours"].append(elapsed)
            times["ours_empty"].append(run_command(*empty)[1])
            read, bare_elapsed = run_bare(now_ms - 55 * 60_000, now_ms + 60_000)
            times["bare"].append(bare_elapsed)
            times["bare_empty"].append(run_bare(now_ms - 3 * 3600_000, now_ms - 2 * 3600_000)[1])
            if written != args.events or read != args.events:
                print(f"events lost: command wrote {written}, paginator read {read} of {args.events}")
                return 1

        tracemalloc.start()
        run_command(*full)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    monkeypatch.undo()

    best = {k: min(v) for k, v in times.items()}
    ours_stream = best["ours"] - best["ours_empty"]
    bare_stream = best["bare"] - best["bare_empty"]
    ratio = bare_stream / ours_stream
    peak_mb = peak / 2**20
    print(f"events:                      {args.events}")
    print(f"command, end to end:         {best['ours']:.2f} s (start-up {best['ours_empty']:.2f} s)")
    print(f"bare paginator, end to end:  {best['bare']:.2f} s (start-up {best['bare_empty']:.2f} s)")
    print(f"command streaming:           {args.events / ours_stream:,.0f} events/s")
    print(f"bare paginator streaming:    {args.events / bare_stream:,.0f} events/s")
    print(f"throughput ratio:            {ratio:.2f}  (target >= {RATIO_TARGET}; "
          f"end to end {best['bare'] / best['ours']:.2f})")
    print(f"peak memory (command):       {peak_mb:.1f} MB  (target <= {MEMORY_TARGET_MB} MB)")
    return 0 if ratio >= RATIO_TARGET and peak_mb <= MEMORY_TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
