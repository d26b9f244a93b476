"""Stack parameters as CloudFormation resolves and checks them on CreateChangeSet, CreateStack and
UpdateStack: `UsePreviousValue` only for a parameter the stack has, defaults for the ones not given,
every value within its parameter's AllowedValues and AllowedPattern (each element of a list)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError


def resolve(declared: Mapping[str, Any], previous: Mapping[str, str],
            given: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """The values a stack would get and, if any, why CloudFormation refuses them (its messages)."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for entry in given:
        key = entry["ParameterKey"]
        if key not in declared:
            problems.append(f"Parameters: [{key}] do not exist in the template")
        elif entry.get("UsePreviousValue"):
            if key in previous:
                values[key] = previous[key]
            else:
                problems.append(f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as "
                                "true for a parameter key not in the previous template")
        else:
            values[key] = str(entry["ParameterValue"])
    for key, spec in declared.items():
        if key not in values and "Default" in spec:
            values[key] = str(spec["Default"])
        if key not in values:
            problems.append(f"Parameters: [{key}] must have values")
            continue
        problems += violations(key, spec, values[key])
    return values, problems


def violations(key: str, spec: Mapping[str, Any], value: str) -> list[str]:
    items = value.split(",") if spec.get("Type", "String").startswith(("CommaDelimitedList", "List<")) \
        else [value]
    found = []
    if "AllowedValues" in spec and any(v not in spec["AllowedValues"] for v in items):
        found.append(f"Parameter '{key}' must be one of AllowedValues")
    if "AllowedPattern" in spec and not all(re.fullmatch(spec["AllowedPattern"], v) for v in items):
        found.append(f"Parameter '{key}' must match pattern {spec['AllowedPattern']}")
    return found


def checked(template: Mapping[str, Any], previous: Mapping[str, str], given: list[dict[str, Any]],
            operation: str) -> dict[str, str]:
    """The resolved values, or CloudFormation's ValidationError."""
    values, problems = resolve(template.get("Parameters", {}), previous, given)
    if problems:
        raise ClientError({"Error": {"Code": "ValidationError", "Message": problems[0]}}, operation)
    return values
