"""`battleshiper package`: build every artifact locally, no AWS needed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from battleshiper_cli.context import Context
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import console, stdout
from battleshiper_cli.packaging import DEFAULT_BUILD_DIR, manifest_json, package_all


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


@app.command()
@guarded
def package(
    ctx: typer.Context,
    out: Path = typer.Option(DEFAULT_BUILD_DIR, "--out", help="Build directory (reused: unchanged artifacts "
                                                              "are not rebuilt)."),
) -> None:
    """Build the platform's artifacts (Lambda zips, layer, templates) into a local directory."""
    c: Context = ctx.obj
    artifacts = package_all(c.stack_name, out, log=None if c.output == "json" else console.print)
    if c.output == "json":
        print(manifest_json(artifacts))
        return
    table = Table("artifact", "sha256", "size", title=f"Artifacts in {out}")
    for a in artifacts.values():
        table.add_row(a.name, a.sha256[:12], human_size(a.size))
    stdout.print(table)
