"""Stack events and change sets rendered for people (stderr, so `--output json` stays clean)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.table import Table

from battleshiper_cli.output import console


def status_style(status: str) -> str:
    if status.endswith("_FAILED") or "ROLLBACK" in status:
        return "red"
    if status.endswith("_COMPLETE"):
        return "green"
    return "yellow"


def print_event(event: dict[str, Any]) -> None:
    """One line per event: time, logical id, type, status (colored) and the reason for failures."""
    stamp = event.get("Timestamp")
    when = stamp.astimezone().strftime("%H:%M:%S") if isinstance(stamp, datetime) else str(stamp or "")
    status = event.get("ResourceStatus", "")
    style = status_style(status)
    logical_id = escape(event.get("LogicalResourceId", ""))
    kind = escape(event.get("ResourceType", ""))
    line = f"{when}  {logical_id}  [dim]{kind}[/dim]  [{style}]{escape(status)}[/{style}]"
    reason = event.get("ResourceStatusReason")
    if reason and (style == "red" or status.endswith("_FAILED")):
        line += f"  [red]{escape(reason)}[/red]"
    console.print(line)


def change_rows(changes: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A change set's resource changes as flat rows (for the table and for JSON)."""
    rows = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        rows.append(
            {
                "action": rc.get("Action", ""),
                "logical_id": rc.get("LogicalResourceId", ""),
                "type": rc.get("ResourceType", ""),
                "replacement": rc.get("Replacement", ""),
            }
        )
    return rows


ACTION_STYLE = {"Add": "green", "Modify": "yellow", "Remove": "red", "Import": "cyan", "Dynamic": "yellow"}


def print_changes(title: str, changes: list[dict[str, Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("Action", "Logical ID", "Type", "Replacement"):
        table.add_column(column)
    for row in change_rows(changes):
        style = ACTION_STYLE.get(row["action"], "")
        replacement = row["replacement"]
        table.add_row(
            f"[{style}]{row['action']}[/{style}]" if style else row["action"],
            escape(row["logical_id"]),
            row["type"],
            f"[red]{replacement}[/red]" if replacement == "True" else replacement,
        )
    console.print(table)
