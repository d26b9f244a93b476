"""`battleshiper status`: the platform stack's state, outputs, artifacts and project stacks
(docs/OPERATE.md)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from battleshiper_cli.context import Context
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import emit_json, stdout
from battleshiper_cli.progress import status_style
from battleshiper_cli.stacks import StackOps
from battleshiper_cli.status import PlatformStatus, platform_status


@app.command()
@guarded
def status(ctx: typer.Context) -> None:
    """Show the platform stack's state, outputs, artifact versions, and project stacks on an older template.

    Project stacks on an older project template are rolled forward by `battleshiper update`.

    Exit codes: 0 shown; 2 no platform stack (or bad input, AWS error)."""
    c: Context = ctx.obj
    state = platform_status(StackOps(c.client("cloudformation")), c.names)
    if c.output == "json":
        emit_json(state.as_json())
        return
    print_status(state)


def _styled(status: str) -> str:
    style = status_style(status)
    return f"[{style}]{escape(status)}[/{style}]"


def print_status(s: PlatformStatus) -> None:
    stdout.print(f"[bold]{escape(s.stack)}[/bold]  {_styled(s.status)}"
                 + (f"  {escape(s.reason)}" if s.reason else ""))
    stdout.print(f"created {s.created or '?'}, last updated {s.updated or 'never'}")

    values = Table("parameter / output", "value", title="Parameters and outputs", title_justify="left")
    for key, value in s.parameters.items():
        values.add_row(escape(key), escape(value))
    for key, value in s.outputs.items():
        values.add_row(escape(key), escape(value))
    stdout.print(values)

    artifacts = Table("artifact", "key", title="Artifact versions", title_justify="left")
    for name, key in s.artifacts.items():
        artifacts.add_row(name, escape(key))
    stdout.print(artifacts)

    if not s.projects:
        stdout.print("no project stacks")
        return
    projects = Table("project stack", "status", "project template", title="Project stacks",
                     title_justify="left")
    for p in s.projects:
        template = "[yellow]behind[/yellow]" if p.behind else "[green]current[/green]"
        projects.add_row(escape(p.stack), _styled(p.status), template)
    stdout.print(projects)
    if s.behind:
        stdout.print(f"{len(s.behind)} project stack(s) run an older project template: "
                     "`battleshiper update` rolls them forward")
