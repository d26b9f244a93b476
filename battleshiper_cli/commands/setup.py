"""`battleshiper setup`: install the platform into the account (docs/SETUP.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from battleshiper_cli import install
from battleshiper_cli.context import Context
from battleshiper_cli.main import app, guarded
from battleshiper_cli.operator_policy import operator_policy
from battleshiper_cli.output import console, emit_json
from battleshiper_cli.packaging import DEFAULT_BUILD_DIR
from battleshiper_cli.parameter_options import parameter_options
from battleshiper_cli.preflight import Parameters


def print_operator_policy(ctx: typer.Context, value: bool) -> None:
    """Eager: print and exit before the required options are asked for; needs no AWS access."""
    if not value:
        return
    c: Context = ctx.obj
    emit_json(operator_policy(c.stack_name, c.region))
    raise typer.Exit(0)


@app.command()
@guarded
@parameter_options("setup", before="build_dir")
def setup(
    ctx: typer.Context,
    build_dir: Path = typer.Option(DEFAULT_BUILD_DIR, "--build-dir",
                                   help="Where packaging builds artifacts."),
    _print_policy: bool = typer.Option(
        False, "--print-operator-policy", is_eager=True, expose_value=False, callback=print_operator_policy,
        help="Print the least-privilege IAM policy (JSON) that credentials running setup, update and "
             "delete need for this --stack-name, and exit. Needs no AWS credentials; see docs/SETUP.md.",
    ),
    **parameters: str,  # --domain, --certificate-arn, ... (templates/parameters.py)
) -> None:
    """Install Battleshiper: preflight checks, packaging, upload, a change set to review, then the
    stack with live events; finally the first dashboard files and the DNS records to create.

    Exit codes: 0 installed; 1 declined at the confirmation; 2 bad parameters or a failed preflight
    check (nothing created); 3 the stack failed and rolled back (remove it with `battleshiper delete`).
    """
    c: Context = ctx.obj
    params = Parameters(**parameters)
    result = install.setup(c, params, build_dir=build_dir)
    if c.output == "json":
        emit_json(result.as_json())
        return
    console.print(f"[green]{escape(c.stack_name)} is installed ({result.status})[/green]")
    for key, value in sorted(result.outputs.items()):
        console.print(f"  {key}: {escape(value)}")
    console.print("[bold]Create these DNS records:[/bold]")
    for record in result.dns_records:
        console.print(f"  {escape(record.name)}  {record.type}  {escape(record.value)}")
        if record.note:
            console.print(f"    [dim]{escape(record.note)}[/dim]")
    console.print(f"Then open https://{escape(params.domain)} and sign in with GitHub as "
                  f"{escape(params.admin)}.")
