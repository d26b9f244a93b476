"""Which actions a policy's Allow statements name, with IAM's wildcards and case rules. Resources and
conditions are not looked at: enough to check that a role holds a list of actions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from typing import Any


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], logical_id: str) -> Iterator[dict[str, Any]]:
    """The statements of a role's inline policies (or of a managed policy's document)."""
    props = template["Resources"][logical_id]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    if "PolicyDocument" in props:
        documents.append(props["PolicyDocument"])
    for document in documents:
        yield from as_list(document["Statement"])


def allowing(statements: Iterable[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The Allow statements whose Action patterns match `action` (`lambda:Get*` matches
    `lambda:GetAlias`; IAM ignores case)."""
    return [
        s for s in statements
        if s.get("Effect") == "Allow"
        and any(fnmatchcase(action.lower(), str(p).lower()) for p in as_list(s.get("Action", [])))
    ]
