"""IAM enforced on our own clients: every call a role's client makes is evaluated against the role's
policies as synthesized, and a call they do not allow fails as AWS fails it (AccessDenied, with AWS's
message), before it reaches moto or a local stand-in.

A `Principal` is one role with its policies. `attach` hooks it into a boto3 session (so every client
and resource from that session is checked); `guard` wraps a local stand-in (bus, stacks, route
store) with the same check. A `Recorder` sees every decision: the suite fails on a denied call and
lists the grants no call used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.session import get_session

from battleshiper_cli.local.iam.actions import Where, requests_for
from battleshiper_cli.local.iam.policy import Decision, Grant, Policy, Request, evaluate, wildcard_match

# Query-protocol services answer "AccessDenied"; JSON and rest-json ones "AccessDeniedException".
ACCESS_DENIED = {"s3": "AccessDenied", "cloudformation": "AccessDenied", "iam": "AccessDenied",
                 "sts": "AccessDenied", "sqs": "AccessDenied", "ec2": "UnauthorizedOperation"}
_STASH = "battleshiper_iam_denied"


@dataclass(frozen=True)
class Principal:
    """One role: who is calling (the function, job or service that assumed it) and what it may do."""

    name: str  # e.g. the role's logical id
    session: str  # the session name AWS would show: the function's name
    policies: tuple[Policy, ...]
    boundary: Policy | None = None
    account: str = "123456789012"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{self.session}"


@dataclass
class Denial:
    principal: str
    request: Request
    reason: str

    def describe(self) -> str:
        return (f"{self.principal}: {self.request.action} on {self.request.resource} denied "
                f"({self.reason}); grant it in the role's policy in templates/")


@dataclass
class Recorder:
    """Every decision of every principal (thread-safe: the local platform calls from many threads)."""

    used: set[tuple[str, Grant, str]] = field(default_factory=set)  # (principal, statement, action)
    denials: list[Denial] = field(default_factory=list)
    principals: dict[str, Principal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, principal: Principal, request: Request, decision: Decision) -> None:
        with self._lock:
            self.principals.setdefault(principal.name, principal)
            if decision.allowed:
                self.used.update((principal.name, g, request.action) for g in decision.grants)
            else:
                self.denials.append(Denial(principal.name, request, decision.reason))

    def unused(self) -> list[str]:
        """`<role>: <action>` for each action an Allow statement of a recorded role grants and no call
        used (an action pattern counts as used when a call's action matched it)."""
        found = set()
        for name, principal in sorted(self.principals.items()):
            for policy in principal.policies:
                for index, statement in enumerate(policy.statements):
                    if statement.get("Effect") != "Allow":
                        continue
                    grant = Grant(policy.name, index)
                    used = [a for p, g, a in self.used if p == name and g == grant]
                    for pattern in _as_list(statement.get("Action")):
                        if not any(wildcard_match(str(pattern), a, ignore_case=True) for a in used):
                            found.add(f"{name}: {pattern}")
        return sorted(found)


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


Lookup = Callable[[str, dict[str, Any]], None]


@dataclass
class Enforcer:
    principal: Principal
    where: Where
    recorder: Recorder | None = None
    log: Callable[[str], None] | None = None
    # (service, operation) -> adds what AWS knows but the parameters do not say (e.g. a deployment's group)
    lookups: Mapping[tuple[str, str], Lookup] = field(default_factory=dict)

    def check(
        self, service: str, operation: str, params: Mapping[str, Any], region: str | None
    ) -> str | None:
        """None when allowed; else AWS's error message."""
        where = Where(region or self.where.region, self.where.account, self.where.partition)
        params = dict(params)
        lookup = self.lookups.get((service, operation)) or self.lookups.get((service, "*"))
        if lookup is not None:
            lookup(service, params)
        for request in requests_for(service, operation, params, where):
            decision = evaluate(request, self.principal.policies, self.principal.boundary)
            if self.recorder is not None:
                self.recorder.record(self.principal, request, decision)
            if not decision.allowed:
                message = (f"User: {self.principal.arn} is not authorized to perform: {request.action} "
                           f"on resource: {request.resource} because {decision.reason}")
                if self.log is not None:
                    denial = Denial(self.principal.name, request, decision.reason)
                    self.log(f"AccessDenied: {denial.describe()}")
                return message
        return None

    def error(self, service: str, operation: str, message: str) -> ClientError:
        code = ACCESS_DENIED.get(service, "AccessDeniedException")
        return ClientError({"Error": {"Code": code, "Message": message},
                            "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)


class _Denied:
    """The HTTP response botocore parses an error from, when a `before-call` handler answers."""

    status_code = 403
    headers: dict[str, str] = {}
    content = b""


def attach(session: boto3.session.Session, enforcer: Enforcer) -> boto3.session.Session:
    """Check every call of every client made from `session`."""
    events = session._session.get_component("event_emitter")

    def before_parameters(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        message = enforcer.check(service, model.name, params, context.get("client_region"))
        if message is not None:
            context[_STASH] = (service, message)

    def before_call(model: Any, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if _STASH not in context:
            return None
        service, message = context.pop(_STASH)
        code = ACCESS_DENIED.get(service, "AccessDeniedException")
        return _Denied(), {"Error": {"Code": code, "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}

    events.register("before-parameter-build", before_parameters)
    events.register("before-call", before_call)
    return session


_OPERATIONS: dict[str, dict[str, str]] = {}


def operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name."""
    if service not in _OPERATIONS:
        model = get_session().get_service_model(service)
        _OPERATIONS[service] = {xform_name(op): op for op in model.operation_names}
    return _OPERATIONS[service]


class Guarded:
    """A local stand-in for an AWS client (same method names), checked like a real client."""

    def __init__(self, target: Any, service: str, enforcer: Enforcer, region: str | None = None) -> None:
        self._target, self._service, self._enforcer, self._region = target, service, enforcer, region
        self.meta = getattr(target, "meta", None)
        self.exceptions = getattr(target, "exceptions", None)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        operation = operations(self._service).get(name)
        if operation is None or not callable(attribute):
            return attribute

        def call(*args: Any, **params: Any) -> Any:
            message = self._enforcer.check(self._service, operation, params, self._region)
            if message is not None:
                raise self._enforcer.error(self._service, operation, message)
            return attribute(*args, **params)

        return call
