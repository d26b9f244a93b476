"""IAM policy evaluation for identity-based policies, as AWS documents it: an explicit Deny wins, an
Allow is needed, and a permissions boundary (when the role has one) must allow the request too.

Statements: Effect, Action/NotAction, Resource/NotResource with `*`/`?` wildcards (actions compare
case-insensitively, resources case-sensitively, and `*` spans `:` and `/` as in AWS), and Condition
with the operators our templates and AWS-managed patterns use, their `IfExists` forms and the
`ForAnyValue:`/`ForAllValues:` set qualifiers. Resource-based policies and SCPs are not modelled: the
platform's calls never depend on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    action: str  # "dynamodb:UpdateItem"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """One Allow statement of one policy: what a call was allowed by (the recorder counts these)."""

    policy: str
    index: int


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_document(cls, name: str, document: Mapping[str, Any]) -> Policy:
        statements = document.get("Statement", [])
        if isinstance(statements, Mapping):
            statements = [statements]
        return cls(name, tuple(statements))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    grants: tuple[Grant, ...] = ()  # the identity statements that allowed it
    reason: str = ""  # why not, in AWS's words


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_pattern(pattern, ignore_case).match(value))


def _any_match(patterns: Iterable[Any], value: str, ignore_case: bool) -> bool:
    return any(wildcard_match(str(p), value, ignore_case) for p in patterns)


def _string_op(op: str, given: str, wanted: str) -> bool:
    if op in ("StringEquals", "ArnEquals"):
        return given == wanted
    if op == "StringEqualsIgnoreCase":
        return given.lower() == wanted.lower()
    if op in ("StringLike", "ArnLike"):
        return wildcard_match(wanted, given)
    if op == "Bool":
        return given.lower() == wanted.lower()
    raise NotImplementedError(f"condition operator {op} is not modelled")


NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, wanted: list[Any], context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    present = key in context
    if op == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if not present:
        return if_exists or op in NEGATED
    given = [str(v) for v in _list(context[key])]
    base = NEGATED.get(op, op)

    def matches(value: str) -> bool:
        return any(_string_op(base, value, str(w)) for w in wanted)

    # Single-valued keys and ForAnyValue: any value matches; ForAllValues: every one.
    result = all(map(matches, given)) if qualifier == "ForAllValues" else any(map(matches, given))
    return not result if op in NEGATED else result


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not _any_match(_list(statement["Action"]), request.action, ignore_case=True):
            return False
    elif _any_match(_list(statement.get("NotAction")), request.action, ignore_case=True):
        return False
    if "Resource" in statement:
        if not _any_match(_list(statement["Resource"]), request.resource, ignore_case=False):
            return False
    elif _any_match(_list(statement.get("NotResource")), request.resource, ignore_case=False):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, _list(wanted), request.context):
                return False
    return True


def _matching(policies: Sequence[Policy], request: Request, effect: str) -> list[Grant]:
    return [
        Grant(policy.name, index)
        for policy in policies
        for index, statement in enumerate(policy.statements)
        if statement.get("Effect") == effect and _applies(statement, request)
    ]


def evaluate(request: Request, identity: Sequence[Policy], boundary: Policy | None = None) -> Decision:
    every = [*identity, *([boundary] if boundary else [])]
    if _matching(every, request, "Deny"):
        return Decision(False, reason=f"an explicit deny in a policy denies the {request.action} action")
    grants = _matching(identity, request, "Allow")
    if not grants:
        return Decision(False, reason=f"no identity-based policy allows the {request.action} action")
    if boundary is not None and not _matching([boundary], request, "Allow"):
        return Decision(False, reason=f"no permissions boundary allows the {request.action} action")
    return Decision(True, tuple(grants))
