"""`battleshiper project env ...`: a project's environment variables and secrets (docs/OPERATE.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import typer
from rich.markup import escape
from rich.table import Table

from battleshiper_cli.commands.project import project_app
from battleshiper_cli.context import Context
from battleshiper_cli.errors import UsageError
from battleshiper_cli.main import guarded
from battleshiper_cli.output import console, emit_json, stdout
from battleshiper_cli.project import env
from battleshiper_cli.project.views import Platform, utc
from lambdas.shared import environment
from lambdas.shared.models import Project, Target

ENV_EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 no such project, or (unset) none of the variables is set; 2 refused "
    "(reserved or invalid name, quota, changed meanwhile), bad input, no platform stack or AWS error."
)
REDEPLOY = "redeploy to apply"

env_app = typer.Typer(
    name="env",
    help="A project's environment variables and secrets. A change applies at the next deployment "
         f"(`battleshiper project build NAME`).\n\n{ENV_EXIT_CODES_HELP}",
    no_args_is_help=True,
)
project_app.add_typer(env_app, name="env")

SetTarget = Literal["production", "preview", "both"]
PullTarget = Literal["production", "preview"]
NAME = typer.Argument(..., help="Project name.")
TARGET_HELP = "Which deployments: production, preview or both."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _emit_listing(c: Context, platform: Platform, project: Project) -> None:
    emit_json(env.listing(c, platform, project))


@env_app.command("list")
@guarded
def list_(ctx: typer.Context, name: str = NAME) -> None:
    """List the project's variables per target: plain values shown, secrets masked.

    With --output json: the list of entries, a secret's value null and `masked` true."""
    c: Context = ctx.obj
    platform = Platform.open(c)
    views = env.listing(c, platform, platform.project(name))
    if c.output == "json":
        emit_json(views)
        return
    if not views:
        stdout.print(f"no variables on {escape(name)}")
        return
    table = Table()
    for column in ("name", "target", "kind", "applies", "value", "updated", "by"):
        table.add_column(column, overflow="fold")  # values are copied: never cut them short
    for v in views:
        value = f"[dim]{environment.MASK}[/dim]" if v["masked"] else escape(v["value"])
        table.add_row(escape(v["name"]), v["target"], v["kind"], v["applies"], value, utc(v["updated_at"]),
                      escape(v["updated_by"]))
    stdout.print(table)


@env_app.command("set")
@guarded
def set_(
    ctx: typer.Context,
    name: str = NAME,
    pairs: list[str] = typer.Argument(..., metavar="KEY=VALUE...",
                                      help="Variables to set; the value is what follows the first `=`. "
                                           "KEY=- reads that one value from standard input."),
    secret: bool = typer.Option(False, "--secret", help="Store them as secrets: write-only, never shown "
                                                        "again (list and the dashboard mask them)."),
    build: bool = typer.Option(False, "--build", help="Only for the build (default: build and run time)."),
    runtime: bool = typer.Option(False, "--runtime", help="Only for the server at run time."),
    target: SetTarget = typer.Option("both", "--target", help=TARGET_HELP),
) -> None:
    """Set (add or replace) variables; all or nothing. The operator is recorded as who changed them."""
    c: Context = ctx.obj
    applies = env.applies_of(build, runtime)
    changes = env.settings(env.assignments(pairs, sys.stdin), secret=secret, applies=applies, target=target)
    platform = Platform.open(c)
    project = env.set_variables(c, platform, platform.project(name), changes)
    if c.output == "json":
        _emit_listing(c, platform, project)
        return
    targets = ", ".join(t.value for t in environment.targets_of(target))
    steps = "build, runtime" if applies.value == "both" else applies.value
    kind = "secret " if secret else ""
    for change in changes:
        console.print(f"set {kind}{escape(change.name)} ({targets}; {steps}) on {escape(name)}: {REDEPLOY}")
    console.print(f"[dim]redeploy: battleshiper project build {escape(name)}[/dim]")


@env_app.command("unset")
@guarded
def unset(
    ctx: typer.Context,
    name: str = NAME,
    keys: list[str] = typer.Argument(..., metavar="KEY...", help="Names of the variables to remove."),
    target: SetTarget = typer.Option("both", "--target", help=TARGET_HELP),
) -> None:
    """Remove variables from the target(s); those not set are skipped, none set is an error (exit 1)."""
    c: Context = ctx.obj
    platform = Platform.open(c)
    project, removed = env.unset_variables(c, platform, platform.project(name), keys, target)
    if c.output == "json":
        _emit_listing(c, platform, project)
        return
    by_name: dict[str, list[str]] = {}
    for key in removed:
        where, _, variable = key.partition("/")
        by_name.setdefault(variable, []).append(where)
    for variable, targets in by_name.items():
        console.print(f"removed {escape(variable)} ({', '.join(targets)}) from {escape(name)}: {REDEPLOY}")


@env_app.command()
@guarded
def pull(
    ctx: typer.Context,
    name: str = NAME,
    file: str = typer.Option(".env", "--file", "-f", help="The dotenv file to write (replaced, mode 0600); "
                                                          "- writes to standard output."),
    target: PullTarget = typer.Option("production", "--target", help="Whose values: production or preview."),
    include_secrets: bool = typer.Option(False, "--include-secrets",
                                         help="Write the secrets too, in clear (you act with an "
                                              "administrator's rights): keep the file private."),
) -> None:
    """Write the target's values to a dotenv file, sorted by name, for a local `npm run dev`.

    Secrets are left out unless --include-secrets. With --output json: the file, how many variables
    were written and how many secrets were left out."""
    c: Context = ctx.obj
    to_stdout = file == "-"
    if to_stdout and c.output == "json":
        raise UsageError("--file - prints the dotenv text itself: it cannot be combined with --output json")
    platform = Platform.open(c)
    values, left_out = env.pulled(c, platform, platform.project(name), Target(target),
                                  secrets=include_secrets)
    text = env.dotenv(values)
    if to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        env.write_private(Path(file), text)
    if c.output == "json":
        emit_json({"file": file, "variables": len(values), "secrets_left_out": left_out})
        return
    note = f" ({_plural(left_out, 'secret')} left out: pass --include-secrets)" if left_out else ""
    where = "standard output" if to_stdout else file
    console.print(f"wrote {_plural(len(values), 'variable')} to {escape(where)}{note}")
