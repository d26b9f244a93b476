"""EventBridge event patterns, as far as our rules use them: nested objects, lists of exact values (a
match when the event's value, or any element of an event list, is one of them), and the `prefix`,
`exists` and `anything-but` operators. The local bus evaluates the rules' own patterns with this."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()


def _value_matches(condition: Any, value: Any) -> bool:
    if isinstance(condition, Mapping):
        if "exists" in condition:
            return bool(condition["exists"]) == (value is not _MISSING)
        if value is _MISSING:
            return False
        if "prefix" in condition:
            return isinstance(value, str) and value.startswith(condition["prefix"])
        if "anything-but" in condition:
            excluded = condition["anything-but"]
            return value not in (excluded if isinstance(excluded, list) else [excluded])
        raise ValueError(f"unsupported pattern operator {sorted(condition)}")
    return value is not _MISSING and condition == value


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    for key, condition in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(condition, Mapping):
            if not isinstance(value, Mapping) or not matches(condition, value):
                return False
            continue
        if not isinstance(condition, list):
            raise ValueError(f"pattern field {key!r} must be a list or an object")
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(c, v) for c in condition for v in values):
            return False
    return True
