"""`battleshiper update`: roll the platform (and its project stacks) forward (docs/UPDATE.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from battleshiper_cli import install
from battleshiper_cli.context import Context
from battleshiper_cli.errors import EXIT_CHANGES
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import console, emit_json
from battleshiper_cli.packaging import DEFAULT_BUILD_DIR
from battleshiper_cli.parameter_options import parameter_options


@app.command()
@guarded
@parameter_options("update", before="build_dir")
def update(
    ctx: typer.Context,
    diff: bool = typer.Option(False, "--diff", help="Only show what would change; exit 0 when nothing "
                                                    "would, 1 when something would."),
    no_projects: bool = typer.Option(False, "--no-projects",
                                     help="Only list project stacks on an older template; "
                                          "do not update them."),
    build_dir: Path = typer.Option(DEFAULT_BUILD_DIR, "--build-dir",
                                   help="Where packaging builds artifacts."),
    **parameters: str | None,  # --domain, --certificate-arn, ... (templates/parameters.py)
) -> None:
    """Update the installed platform to this version: preflight, packaging, upload of changed
    artifacts only, a change set to review, live events; then project stacks on an older project
    template are rolled forward. Parameters not given keep their current values. Nothing changed
    means nothing is uploaded or executed.

    Exit codes: 0 updated or nothing to do (--diff: no changes); 1 declined (--diff: changes pending);
    2 bad parameters or a failed preflight check, nothing changed; 3 the update failed (the platform
    stack rolled back) or a project stack could not be rolled forward.
    """
    c: Context = ctx.obj
    result = install.update(c, parameters, build_dir=build_dir, diff=diff, projects=not no_projects)
    if c.output == "json":
        emit_json(result.as_json())
    elif diff:
        console.print("changes pending" if result.status == "changes" else "no changes")
    else:
        console.print(f"[green]{escape(c.stack_name)}: {result.status}[/green]")
        for roll in result.projects:
            console.print(f"  {escape(roll.stack)}: {escape(roll.status)}")
    if diff and result.status == "changes":
        raise typer.Exit(EXIT_CHANGES)
