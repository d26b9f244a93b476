"""`battleshiper local up|down|status`: the whole platform on this machine (docs/LOCAL.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import typer

from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.local.control import DEFAULT_DATA_DIR
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import stdout

local_app = typer.Typer(
    help="Run the whole platform on this machine (moto, a local edge and runners).", no_args_is_help=True
)
app.add_typer(local_app, name="local")


def up_command(port: int, data_dir: Path, *, sample: bool) -> list[str]:
    """`battleshiper local up` as a command line for a process of its own (--detach, tests)."""
    return [
        sys.executable, "-c", "from battleshiper_cli.main import main; main()",
        "local", "up", "--port", str(port), "--data-dir", str(data_dir),
        "--sample" if sample else "--no-sample",
    ]


def _state(data_dir: Path) -> dict[str, object] | None:
    try:
        return dict(json.loads((data_dir / "local.json").read_text()))
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@local_app.command()
@guarded
def up(
    port: int = typer.Option(8080, help="Port of the local edge (dashboard and projects)."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Where repositories and work files live."),
    detach: bool = typer.Option(False, help="Run in the background; `battleshiper local down` stops it."),
    sample: bool = typer.Option(True, help="Create, build and deploy the sample project."),
) -> None:
    """Start the local platform and, with --sample, build and deploy the sample project."""
    from battleshiper_cli.local.errors import LocalError, check_node, check_port
    from battleshiper_cli.local.platform import LocalPlatform

    state = _state(data_dir)
    if state and _alive(int(str(state["pid"]))):
        raise BattleshiperError(
            f"the local platform is already running at {state['url']}",
            hint="`battleshiper local down` stops it",
        )
    try:
        check_node()
        check_port(port)
    except LocalError as err:
        raise BattleshiperError(str(err)) from err
    if detach:
        data_dir.mkdir(parents=True, exist_ok=True)
        log = (data_dir / "local.log").open("ab")
        process = subprocess.Popen(
            up_command(port, data_dir, sample=sample),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and process.poll() is None:
            if (data_dir / "local.ready").exists():
                stdout.print((data_dir / "local.ready").read_text().strip())
                return
            time.sleep(0.5)
        raise BattleshiperError(f"the local platform did not start; see {data_dir / 'local.log'}")

    platform = LocalPlatform(port, data_dir, log=lambda line: print(line, flush=True))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    (data_dir / "local.ready").unlink(missing_ok=True)
    try:
        platform.start()
        lines = [f"Dashboard: {platform.url}"]
        stdout.print(lines[0])
        if sample:
            url = platform.create_sample()
            lines.append(f"Sample project: {url}")
            stdout.print(lines[-1])
        (data_dir / "local.ready").write_text("\n".join(lines) + "\n")
        stdout.print("Ctrl-C (or `battleshiper local down`) stops it.")
        platform.wait(stop)
    except LocalError as err:
        raise BattleshiperError(str(err)) from err
    except KeyboardInterrupt:
        pass
    finally:
        platform.stop()
        (data_dir / "local.ready").unlink(missing_ok=True)


@local_app.command()
@guarded
def down(data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="The data folder `local up` used.")) -> None:
    """Stop the local platform and every process it started."""
    state = _state(data_dir)
    if not state or not _alive(int(str(state["pid"]))):
        stdout.print("The local platform is not running.")
        return
    pid = int(str(state["pid"]))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    stdout.print("Stopped." if not _alive(pid) else f"Process {pid} did not stop.")


@local_app.command("status")
@guarded
def local_status(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="The data folder `local up` used."),
) -> None:
    """Whether the local platform runs, where, and whether its edge answers."""
    state = _state(data_dir)
    if not state or not _alive(int(str(state["pid"]))):
        stdout.print("The local platform is not running.")
        raise typer.Exit(1)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{state['port']}/api/user/fetchinfo", headers={"host": "localhost"}
        )
        urllib.request.urlopen(request, timeout=5).close()
        answering = "answering"
    except urllib.error.HTTPError:
        answering = "answering"  # 401 without a session: the API is up
    except OSError:
        answering = "not answering"
    stdout.print(
        f"Running (pid {state['pid']}) at {state['url']}, {answering}; AWS APIs (moto) at {state['moto']}"
    )
