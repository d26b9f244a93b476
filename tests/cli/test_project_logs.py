"""`battleshiper project logs` against moto's CloudWatch Logs: merge order, selection, JSON lines, and
following with an injected clock and sleep (no duplicate, no missed event, backoff, Ctrl-C)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.awsrequest
import botocore.config
import pytest
from rich.console import Console

from battleshiper_cli import logs
from battleshiper_cli.commands import project as project_command
from battleshiper_cli.main import app
from tests.cli.project_support import REGION, World, platform_world, seed
from tests.cli.runner import FAKES, Runner

runner = Runner()
MINUTE = 60_000


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with platform_world(monkeypatch) as w:
        seed(w)
        yield w


class Time:
    """The clock and sleep of `logs --follow`: each sleep advances the clock and runs the next scripted
    step (what arrives in CloudWatch meanwhile); when the script is done, the operator presses Ctrl-C."""

    def __init__(self, start_ms: int, steps: list[Callable[[], None]]) -> None:
        self.now = start_ms / 1000
        self.steps = list(steps)
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if not self.steps:
            raise KeyboardInterrupt
        self.steps.pop(0)()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--region", REGION, *args])
    return result.exit_code, result.output


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def now_ms() -> int:
    # moto refuses events far from the real clock, so the tests' times are near it.
    import time

    return int(time.time() * 1000)


def test_groups_are_merged_in_time_order_with_ties_in_kind_order(world: World) -> None:
    t = now_ms() - 5 * MINUTE
    world.put_events("blog", "server", "2026/11/28/[1]abc",
                     [(t + 1000, "GET / 200"), (t + 4000, "GET /a 500")])
    world.put_events("blog", "build", "build/default/1", [(t, "npm ci"), (t + 3000, "vite build\n")])
    world.put_events("blog", "event", "2026/11/28/exec-1",
                     [(t + 1000, "build requested"), (t + 5000, "done")])
    # The deploy group does not exist yet: it is skipped, not an error.
    code, out = run("--output", "json", "project", "logs", "blog", "--since", "10m")
    assert code == 0, out
    lines = json_lines(out)
    assert [(e["kind"], e["message"]) for e in lines] == [
        ("build", "npm ci"),
        ("event", "build requested"),  # same millisecond as the server line: event before server
        ("server", "GET / 200"),
        ("build", "vite build"),
        ("server", "GET /a 500"),
        ("event", "done"),
    ]
    first = lines[0]
    assert first["stream"] == "build/default/1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["timestamp"])
    assert first["id"]


def test_kind_since_until_filter_and_limit_select_events(world: World) -> None:
    t = now_ms() - 61 * MINUTE
    world.put_events("blog", "server", "s", [(t, "old request"), (t + 30 * MINUTE, "GET /x 200"),
                                             (t + 50 * MINUTE, "GET /y 500 error"),
                                             (t + 55 * MINUTE, "late")])
    world.put_events("blog", "build", "b", [(t + 40 * MINUTE, "build error here")])

    def messages(*args: str) -> list[str]:
        code, out = run("--output", "json", "project", "logs", "blog", *args)
        assert code == 0, out
        return [e["message"] for e in json_lines(out)]

    assert messages("--since", "2h") == ["old request", "GET /x 200", "build error here", "GET /y 500 error",
                                         "late"]
    assert messages() == ["GET /x 200", "build error here", "GET /y 500 error", "late"]  # default: 1 hour
    assert messages("--since", "2h", "--kind", "build") == ["build error here"]
    assert messages("--since", "2h", "--filter", "error") == ["build error here", "GET /y 500 error"]
    assert messages("--since", "2h", "--limit", "2") == ["old request", "GET /x 200"]
    assert messages("--since", "25m", "--until", "15m") == ["build error here"]
    iso = logs.LogEvent(t + 30 * MINUTE, "server", "", "", "").time
    assert messages("--since", iso, "--until", "8m") == ["GET /x 200", "build error here", "GET /y 500 error"]


def test_bad_times_are_usage_errors(world: World) -> None:
    for args in (["--since", "yesterday"], ["--since", "1m", "--until", "1h"], ["-f", "--until", "1m"]):
        code, out = run("project", "logs", "blog", *args)
        assert code == 2, (args, out)
        assert "Traceback" not in out


def test_text_output_colours_each_kind(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    t = now_ms() - MINUTE
    for i, kind in enumerate(("event", "build", "deploy", "server")):
        world.put_events("blog", kind, "s", [(t + i, f"{kind} line")])
    screen = io.StringIO()
    monkeypatch.setattr(project_command, "stdout", Console(file=screen, force_terminal=True,
                                                           color_system="standard", width=200))
    code, out = run("project", "logs", "blog")
    assert code == 0, out
    lines = screen.getvalue().splitlines()
    assert len(lines) == 4
    colours = [re.findall(r"\x1b\[([0-9;]+)m(?:event|build|deploy|server)", line)[0] for line in lines]
    assert len(set(colours)) == 4


def test_follow_prints_every_event_once_across_polls(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    start = now_ms() - 2 * MINUTE
    world.put_events("blog", "server", "old", [(start - 15 * MINUTE, "before the 10 minute default")])
    world.put_events("blog", "build", "b1", [(start, "b1")])
    world.put_events("blog", "server", "s1", [(start, "s1 (tie with b1)"), (start + 2000, "s2")])

    def between_first_and_second_poll() -> None:
        # Same timestamp as an event already printed, in another stream; and newer events.
        world.put_events("blog", "server", "s1b", [(start + 2000, "s3 (tie with s2, arrived later)")])
        world.put_events("blog", "build", "b1", [(start + 3000, "b2")])

    def between_second_and_third_poll() -> None:
        # Arrives late: its timestamp is before events printed by the previous poll.
        world.put_events("blog", "event", "e1", [(start + 1000, "e1 (late)")])
        world.put_events("blog", "deploy", "d1", [(start + 4000, "d1"), (start + 4000, "d2 (same ms)")])

    def nothing_new() -> None:
        pass

    clock = Time(start + 3000, [between_first_and_second_poll, between_second_and_third_poll, nothing_new])
    monkeypatch.setattr(project_command, "CLOCK", clock.clock)
    monkeypatch.setattr(project_command, "SLEEP", clock.sleep)
    code, out = run("--output", "json", "project", "logs", "blog", "--follow")
    assert code == 0, out  # Ctrl-C ends following without an error
    messages = [e["message"] for e in json_lines(out)]
    assert messages == [
        "b1", "s1 (tie with b1)", "s2",  # first poll
        "s3 (tie with s2, arrived later)", "b2",  # second
        "e1 (late)", "d1", "d2 (same ms)",  # third
    ]
    assert len(clock.sleeps) == 4
    assert all(s == logs.POLL_SECONDS for s in clock.sleeps)


def test_follow_stops_at_the_limit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    start = now_ms() - MINUTE
    world.put_events("blog", "server", "s", [(start + i, f"line {i}") for i in range(3)])
    clock = Time(start, [lambda: world.put_events("blog", "server", "s", [(start + 10, "line 3"),
                                                                          (start + 11, "line 4")])])
    monkeypatch.setattr(project_command, "CLOCK", clock.clock)
    monkeypatch.setattr(project_command, "SLEEP", clock.sleep)
    code, out = run("--output", "json", "project", "logs", "blog", "-f", "--limit", "4")
    assert code == 0, out
    assert [e["message"] for e in json_lines(out)] == ["line 0", "line 1", "line 2", "line 3"]


def throttling_logs_client(failures: list[bool]) -> Any:
    """moto's Logs client, without botocore's own retries, answering FilterLogEvents with a throttling
    error while `failures` holds True values (one is used per request)."""
    client = boto3.client("logs", region_name=REGION,
                          config=botocore.config.Config(retries={"max_attempts": 1}))

    def maybe_throttle(**_: Any) -> Any:
        if failures and failures.pop(0):
            response = botocore.awsrequest.AWSResponse("https://logs", 400, {}, None)
            return response, {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        return None

    client.meta.events.register("before-call.logs.FilterLogEvents", maybe_throttle)
    return client


def test_follow_backs_off_on_throttling_and_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = now_ms() - MINUTE
    world.put_events("blog", "build", "b", [(start, "b1")])
    world.put_events("blog", "server", "s", [(start + 1, "s1")])
    # Poll 1: build answers, server is throttled (after b1 was printed). Poll 2 (retry): throttled at once.
    # Poll 3: everything answers; b1 is not printed again.
    failures = [False, False, True, True, False, False, False, False]
    monkeypatch.setitem(FAKES, "logs", throttling_logs_client(failures))
    clock = Time(start, [lambda: world.put_events("blog", "server", "s", [(start + 2, "s2")]),
                         lambda: None, lambda: None])
    monkeypatch.setattr(project_command, "CLOCK", clock.clock)
    monkeypatch.setattr(project_command, "SLEEP", clock.sleep)
    code, out = run("--output", "json", "project", "logs", "blog", "--kind", "all", "-f")
    assert code == 0, out
    assert [e["message"] for e in json_lines(out)] == ["b1", "s1", "s2"]
    assert clock.sleeps[:2] == [logs.POLL_SECONDS * 2, logs.POLL_SECONDS * 4]  # growing pauses
    assert clock.sleeps[2] == logs.POLL_SECONDS  # back to normal once answered


def test_parse_time_forms() -> None:
    now = 1_800_000_000.0
    assert logs.parse_time("10m", now) == (now - 600) * 1000
    assert logs.parse_time("2h", now) == (now - 7200) * 1000
    assert logs.parse_time("1w", now) == (now - 7 * 86400) * 1000
    eight_utc = 1_800_000_000_000  # 2027-01-15T08:00:00Z
    assert logs.parse_time("2027-01-15T08:00:00Z", now) == eight_utc
    assert logs.parse_time("2027-01-15T09:00:00+01:00", now) == eight_utc
    assert logs.parse_time("2027-01-15T08:00:00", now) == eight_utc  # no zone: UTC


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_time_that_cannot_be_read_is_bad_input_even_without_aws(
    option: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # No credentials and nothing listening: the bad value is what the operator must hear about.
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    code, out = run("--endpoint-url", "http://127.0.0.1:9", "project", "logs", "blog", option, "banana")
    assert code == 2, out
    lines = out.strip().splitlines()
    assert lines[0] == f"error: {option}: cannot read the time 'banana'"
    assert lines[1].startswith("hint:") and "30s, 10m, 2h, 3d, 1w" in lines[1] and "ISO" in lines[1]
    assert len(lines) == 2 and "AWS" not in out and "Traceback" not in out
