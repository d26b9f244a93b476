"""`battleshiper project ...`: see and steer projects from the terminal (docs/OPERATE.md)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Literal

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from battleshiper_cli import logs
from battleshiper_cli.context import Context
from battleshiper_cli.errors import Declined, UsageError
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import console, emit_json, stdout
from battleshiper_cli.progress import status_style
from battleshiper_cli.project import steering
from battleshiper_cli.project.views import (
    PROJECT_EXIT_CODES_HELP,
    Platform,
    ProjectDetail,
    ProjectRow,
    list_projects,
    show_project,
    urls,
    utc,
)
from lambdas.shared.models import Deployment

project_app = typer.Typer(
    name="project",
    help=f"See and steer the platform's projects.\n\n{PROJECT_EXIT_CODES_HELP}",
    no_args_is_help=True,
)
app.add_typer(project_app, name="project")

# Time seams of `logs --follow` (tests replace them to drive polls without waiting).
CLOCK: Callable[[], float] = time.time
SLEEP: Callable[[float], None] = time.sleep

LogKind = Literal["all", "event", "build", "deploy", "server"]


def _styled(status: str) -> str:
    styles = {"LIVE": "green", "READY": "green", "FAILED": "red", "DELETING": "red", "CANCELED": "dim"}
    style = styles.get(status) or status_style(status)
    return f"[{style}]{escape(status)}[/{style}]"


# --- list / show -------------------------------------------------------------------------------


@project_app.command("list")
@guarded
def list_(ctx: typer.Context) -> None:
    """List every project: owner, status, last and live deployment, aliases and URL."""
    c: Context = ctx.obj
    rows = list_projects(Platform.open(c))
    if c.output == "json":
        emit_json([r.as_json() for r in rows])
        return
    print_rows(rows)


def print_rows(rows: list[ProjectRow]) -> None:
    if not rows:
        stdout.print("no projects")
        return
    table = Table()
    for column in ("name", "owner", "status", "last deployment", "live", "aliases", "url"):
        table.add_column(column, overflow="fold")  # ids and URLs are copied: never cut them short
    for r in rows:
        last = r.last_deployment
        table.add_row(
            escape(r.name), escape(r.owner), _styled(r.status),
            f"{escape(last['id'])} {_styled(last['status'])}" if last else "",
            escape(r.live_deployment or ""), escape(", ".join(r.aliases)), escape(r.url),
        )
    stdout.print(table)


@project_app.command()
@guarded
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Project name.")) -> None:
    """Show one project: record, stack status, deployments (newest first), lock, quota usage, URLs."""
    c: Context = ctx.obj
    detail = show_project(Platform.open(c), name)
    if c.output == "json":
        emit_json(detail.as_json())
        return
    print_detail(detail)


def print_detail(d: ProjectDetail) -> None:
    p = d.project
    owner = f"{d.owner.login} ({d.owner.id})" if d.owner else f"{p.owner_id} (no such user)"
    lines = [
        ("status", _styled(p.status.value) + (f"  {escape(p.status_reason)}" if p.status_reason else "")),
        ("owner", escape(owner)),
        ("repository", escape(f"{p.repository.full_name} ({p.branch})")),
        ("build", escape(f"{p.install_command} && {p.build_command} -> {p.output_directory}")),
        ("stack", f"{escape(d.stack_name)}  {_styled(d.stack_status)}"),
        ("live deployment", escape(p.live_deployment or "none")),
        ("lock", escape(d.lock_state)),
        ("created", utc(p.created_at)),
        ("updated", utc(p.updated_at)),
        ("urls", escape("  ".join(d.urls))),
    ]
    for label, value in lines:
        stdout.print(f"[bold]{label:>16}[/bold]  {value}")

    plan = d.subscription.id if d.subscription else "defaults"
    quota = Table("quota", "used", "limit", title=f"Quota ({plan})", title_justify="left")
    for key, usage in d.quota.items():
        style = "red" if usage.used >= usage.limit else ""
        quota.add_row(key.replace("_", " "), f"[{style}]{usage.used}[/{style}]" if style else str(usage.used),
                      str(usage.limit))
    stdout.print(quota)

    if not d.deployments:
        stdout.print("no deployments")
        return
    table = Table("deployment", "status", "commit", "triggered by", "created", "finished", "reason",
                  title="Deployments (newest first)", title_justify="left")
    for dep in d.deployments:
        table.add_row(escape(dep.deployment_id), _styled(dep.status.value), escape(dep.commit[:12]),
                      escape(dep.triggered_by), utc(dep.created_at), utc(dep.finished_at), escape(dep.reason))
    stdout.print(table)


# --- logs ----------------------------------------------------------------------------------------


@project_app.command("logs")
@guarded
def logs_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    kind: LogKind = typer.Option("all", "--kind", "-k", help="Which log group: event, build, deploy, server "
                                                              "or all (merged in time order)."),
    since: str | None = typer.Option(None, "--since", "-s",
                                     help=f"Start: a duration ago (30s, 10m, 2h, 3d, 1w) or an ISO time "
                                          f"(UTC unless it names a zone). Default {logs.DEFAULT_SINCE}, "
                                          f"{logs.DEFAULT_FOLLOW_SINCE} when following."),
    until: str | None = typer.Option(None, "--until", "-u", help="End, in the same forms as --since."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events; Ctrl-C stops."),
    pattern: str | None = typer.Option(None, "--filter",
                                       help='Only events with all these terms (CloudWatch filter syntax; '
                                            'quote a phrase: \'"connection reset"\').'),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="Stop after this many events."),
) -> None:
    """Print the project's event, build, deploy and server logs merged in time order, one colour per kind.

    With --output json: one JSON object per line (timestamp, kind, stream, message, id)."""
    c: Context = ctx.obj
    if follow and until:
        raise UsageError("--until cannot be combined with --follow")
    # The times are read before any AWS call: a bad one is bad input, whatever AWS says.
    start, end = logs.window(since, until, follow=follow, now=CLOCK())
    platform = Platform.open(c)
    platform.project(name)

    out = sys.stdout
    reader = logs.LogReader(c.client("logs"), logs.log_groups(c.names, name, kind), pattern=pattern,
                            clock=CLOCK, sleep=SLEEP, on_idle=out.flush)
    events = reader.follow(start) if follow else reader.read(start, end, limit)
    write = (lambda e: out.write(e.as_json() + "\n")) if c.output == "json" else print_event
    count = 0
    try:
        for event in events:
            write(event)
            count += 1
            if limit is not None and count >= limit:
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how following ends: not an error
    finally:
        out.flush()
    if count == 0 and c.output != "json" and not follow:
        console.print(f"no events for {name} in the window")


def print_event(event: logs.LogEvent) -> None:
    stdout.print(Text.assemble(
        (event.time, "dim"), " ", (f"{event.kind:<6}", logs.KIND_STYLES.get(event.kind, "")), " ",
        event.message,
    ))


# --- build / rollback / delete -------------------------------------------------------------------


def report(c: Context, deployment: Deployment, *lines: str) -> None:
    """The deployment a steering command made or moved: as JSON, or the command's own lines."""
    if c.output == "json":
        emit_json(steering.describe(deployment))
        return
    for line in lines:
        console.print(line)


@project_app.command()
@guarded
def build(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    commit: str | None = typer.Option(None, "--commit", help="Build this commit (default: the branch tip)."),
) -> None:
    """Start a build of the project's branch; it counts against the owner's daily build quota."""
    c: Context = ctx.obj
    platform = Platform.open(c)
    deployment = steering.build(c, platform, platform.project(name), commit)
    report(c, deployment, f"build [bold]{escape(deployment.deployment_id)}[/bold] of {escape(name)} queued",
           f"[dim]follow it: battleshiper project logs {escape(name)} -f[/dim]")


@project_app.command()
@guarded
def rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    to: str | None = typer.Option(None, "--to", help="Deployment id to make live (default: the one before "
                                                      "the live one). `project show` lists them."),
) -> None:
    """Make an earlier, kept deployment live again at once (no rebuild)."""
    c: Context = ctx.obj
    platform = Platform.open(c)
    deployment = steering.roll_back(c, platform, platform.project(name), to)
    report(c, deployment, f"[green]{escape(deployment.deployment_id)} is live[/green] for {escape(name)}")


@project_app.command()
@guarded
def delete(ctx: typer.Context, name: str = typer.Argument(..., help="Project name.")) -> None:
    """Delete the project: its stack, files, routes and records. Asks you to type its name unless --yes."""
    c: Context = ctx.obj
    platform = Platform.open(c)
    project = platform.project(name)
    if not c.prompter.yes:
        c.prompter.require("no terminal to confirm the deletion on",
                           hint="pass --yes to delete without asking")
        served = ", ".join(urls(project, platform.domain))
        console.print(f"This deletes {escape(name)} ({escape(served)}): stack, deployments, files, logs.")
        if c.prompter.typed(f"Type the project name ({escape(name)}) to delete it") != name:
            raise Declined(f"not deleted: the name did not match {name}")
    steering.request_delete(c, platform, project)
    if c.output == "json":
        emit_json({"project": name, "deletion": "requested"})
        return
    console.print(f"deletion of {escape(name)} requested; the pipeline removes it in the background")
    console.print(f"[dim]follow it: battleshiper project logs {escape(name)} --kind event -f[/dim]")
