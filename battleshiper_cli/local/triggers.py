"""What invokes the platform's functions locally, as the template wires them: each EventBridge rule to
its target function on the local bus, and each HTTP API route `/api/<route>/...` to its function."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from battleshiper_cli.local import aws as local_aws
from battleshiper_cli.local.bus import LocalBus, LocalRule
from battleshiper_cli.local.wiring import Wiring
from lambdas.shared.entry import Handler

ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalContext:
    """What Lambda hands a handler as `context`, as far as our handlers read it."""

    function_name: str
    aws_request_id: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _deliver(handler: Handler, context: LocalContext, event: dict[str, Any]) -> None:
    """A rule target: the function's handler with its Lambda context."""
    handler(event, context)


def _api_call(
    handler: Handler, context: LocalContext, event: dict[str, Any], _context: Any
) -> dict[str, Any]:
    return dict(handler(event, context))


def _handler_and_context(wiring: Wiring, logical: str) -> tuple[Handler, LocalContext]:
    return wiring.handler(logical), LocalContext(wiring.function(logical).name)


def wire_rules(
    wiring: Wiring, template: Mapping[str, Any], resolver: local_aws.Resolver, bus: LocalBus
) -> None:
    """Each rule of the template, with its own pattern, to the function its target names."""
    for rule in local_aws.rules(template, resolver):
        for target in rule["targets"]:
            handler, context = _handler_and_context(wiring, target["Arn"]["Fn::GetAtt"][0])
            deliver = functools.partial(_deliver, handler, context)
            bus.add_rule(LocalRule(rule["name"], rule["bus"], rule["pattern"], deliver))


def api_handlers(wiring: Wiring, template: Mapping[str, Any]) -> dict[str, ApiHandler]:
    """`/api/<route>/...` -> the handler of the function the template's HTTP API routes it to."""
    resources = template["Resources"]
    handlers: dict[str, ApiHandler] = {}
    for route in (r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"):
        key = route["Properties"]["RouteKey"]
        if not key.startswith("ANY /api/"):
            continue
        integration = resources[route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]]
        logical = integration["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
        handler, context = _handler_and_context(wiring, logical)
        handlers[key.split("/")[2]] = functools.partial(_api_call, handler, context)
    return handlers
