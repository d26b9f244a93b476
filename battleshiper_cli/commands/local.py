"""`battleshiper local up|down|status`: the whole platform on this machine (docs/LOCAL.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.local import control
from battleshiper_cli.local.control import DEFAULT_DATA_DIR
from battleshiper_cli.local.errors import LocalError, check_node, check_port
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import stdout

local_app = typer.Typer(
    help="Run the whole platform on this machine (moto, a local edge and runners).", no_args_is_help=True
)
app.add_typer(local_app, name="local")


@local_app.command()
@guarded
def up(
    port: int = typer.Option(8080, help="Port of the local edge (dashboard and projects)."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Where repositories and work files live."),
    detach: bool = typer.Option(False, help="Run in the background; `battleshiper local down` stops it."),
    sample: bool = typer.Option(True, help="Create, build and deploy the sample project."),
) -> None:
    """Start the local platform and, with --sample, build and deploy the sample project."""
    target = control.running(data_dir)
    if target:
        raise BattleshiperError(f"the local platform is already running at {target.url}",
                                hint="`battleshiper local down` stops it")
    try:
        check_node()
        check_port(port)
    except LocalError as err:
        raise BattleshiperError(str(err)) from err
    if detach:
        stdout.print(control.start_detached(port, data_dir, sample=sample))
        return
    control.serve(port, data_dir, sample=sample, say=stdout.print)


@local_app.command()
@guarded
def down(data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="The data folder `local up` used.")) -> None:
    """Stop the local platform and every process it started."""
    target = control.running(data_dir)
    if not target:
        stdout.print("The local platform is not running.")
        return
    stdout.print("Stopped." if control.stop(target) else f"Process {target.pid} did not stop.")


@local_app.command("status")
@guarded
def local_status(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="The data folder `local up` used."),
) -> None:
    """Whether the local platform runs, where, and whether its edge answers."""
    target = control.running(data_dir)
    if not target:
        stdout.print("The local platform is not running.")
        raise typer.Exit(1)
    answering = "answering" if control.answering(target) else "not answering"
    stdout.print(f"Running (pid {target.pid}) at {target.url}, {answering}; AWS APIs (moto) at {target.moto}")
