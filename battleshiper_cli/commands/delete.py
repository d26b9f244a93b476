"""`battleshiper delete`: remove the platform, its project stacks and buckets (docs/DELETE.md)."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from battleshiper_cli import teardown
from battleshiper_cli.context import Context
from battleshiper_cli.errors import OperationFailed
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import console, emit_json
from battleshiper_cli.progress import print_event, status_style
from battleshiper_cli.stacks import StackOps
from battleshiper_cli.teardown import Inventory, Outcome


@app.command()
@guarded
def delete(
    ctx: typer.Context,
    keep_data: bool = typer.Option(False, "--keep-data",
                                   help="Leave the DynamoDB tables (users, projects, ...) in place."),
) -> None:
    """Delete the platform: project stacks, the platform stack, every bucket and (unless --keep-data) the
    tables. Asks you to type the stack name unless --yes."""
    c: Context = ctx.obj
    aws = _aws(c)
    inventory = teardown.find(aws, c.names)
    if inventory.is_empty(keep_data=keep_data):
        console.print(f"nothing to delete: no stack {c.stack_name} and nothing left of it in {aws.region}")
        for t in inventory.tables:
            console.print(f"  kept table {t.name}: {_delete_table_command(t.name, aws.region)}")
        if c.output == "json":
            emit_json({"ok": True, "error": None, "found": inventory.as_json(), "left": inventory.as_json(),
                       "retained": []})
        return
    print_inventory("Battleshiper delete will remove", inventory, keep_data)
    teardown.check_settled(inventory)
    teardown.confirm(c.stack_name, c.prompter)

    work = teardown.Teardown(aws, c.names, keep_data=keep_data, sleep=time.sleep,
                             say=lambda line: console.print(f"[bold]{escape(line)}[/bold]"))

    def on_event(event: dict[str, Any]) -> None:
        print_event(event)
        work.on_event(event)

    aws.stacks.on_event = on_event
    outcome = work.run(inventory)
    if c.output == "json":
        emit_json(outcome.as_json())
    if not outcome.ok:
        print_inventory("Still there", outcome.after, keep_data)
        raise OperationFailed(
            f"delete stopped: {outcome.error or 'resources are left'}",
            hint="fix the cause and run `battleshiper delete` again: it continues where it stopped",
        )
    print_summary(outcome, aws.region)


def _aws(c: Context) -> teardown.Aws:
    account = c.client("sts").get_caller_identity()["Account"]
    return teardown.Aws(
        stacks=StackOps(c.client("cloudformation"), sleep=time.sleep),
        s3=c.client("s3"),
        dynamodb=c.client("dynamodb"),
        logs=c.client("logs"),
        account=account,
        region=c.region_name,
    )


def print_inventory(title: str, inventory: Inventory, keep_data: bool) -> None:
    table = Table(title=f"{title} ({inventory.stack_name}, {inventory.region})", title_justify="left")
    for column in ("Kind", "Name", "State"):
        table.add_column(column)
    for stack in inventory.projects:
        table.add_row("project stack", stack.name, _status(stack.status))
    if inventory.platform:
        table.add_row("platform stack", inventory.platform.name, _status(inventory.platform.status))
    for bucket in inventory.buckets:
        table.add_row("bucket", bucket.name, _objects(bucket.objects))
    if inventory.artifacts:
        table.add_row("artifacts bucket", inventory.artifacts.name, _objects(inventory.artifacts.objects))
    for group in inventory.log_groups:
        table.add_row("log group", group, "")
    for t in inventory.tables:
        fate = ""
        if keep_data:
            fate = ", [green]kept[/green]" if t.retained else ", deleted with its stack (not retained)"
        table.add_row("table", t.name, f"~{t.items} items{fate}")
    console.print(table)


def print_summary(outcome: Outcome, region: str) -> None:
    before = outcome.before
    console.print(
        f"[green]deleted[/green] {_n(len(before.stacks), 'stack')}, "
        f"{_n(len(before.buckets) + (1 if before.artifacts else 0), 'bucket')}, "
        f"{_n(len(before.log_groups), 'log group')}"
        + ("" if outcome.keep_data else f" and {_n(len(before.tables), 'table')}")
    )
    if outcome.keep_data and outcome.after.tables:
        console.print("kept (remove them when you no longer need the data):")
        for t in outcome.after.tables:
            console.print(f"  {_delete_table_command(t.name, region)}")
    if outcome.retained:
        console.print("left in place by their DeletionPolicy (remove them yourself if unwanted):")
        for r in outcome.retained:
            console.print(f"  {r.type}  {escape(r.logical_id)}  {escape(r.physical_id)}")


def _delete_table_command(table: str, region: str) -> str:
    return f"aws dynamodb delete-table --region {region} --table-name {table}"


def _status(status: str) -> str:
    style = status_style(status)
    return f"[{style}]{status}[/{style}]"


def _objects(count: int) -> str:
    return _n(count, "object version") if count else "empty"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"

