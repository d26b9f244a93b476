"""The shape of a pipeline function: the container's `Deps`, one log line per event received (ignored
or not), and for the ticketed requests (init, delete) the ticket checked before anything is done."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lambdas.shared import events, tickets
from lambdas.shared.aws import Clients
from lambdas.shared.deps import Deps
from lambdas.shared.entry import Create, Handler
from lambdas.shared.log import log


def event_function(
    name: str, usable: Callable[[dict[str, Any]], bool], handle: Callable[[Deps, dict[str, Any]], object]
) -> Create:
    """`create(env, clients)` of a function that hands each usable event to `handle(deps, event)`."""

    def create(env: Mapping[str, str], clients: Clients) -> Handler:
        deps = Deps(env, clients)

        def receive(event: dict[str, Any], context: Any) -> None:
            ok = usable(event)
            log(f"{name}: event received", context=context, source=event.get("source"),
                detail_type=event.get("detail-type"), event_id=event.get("id"), ignored=not ok)
            if ok:
                handle(deps, event)

        return receive

    return create


def ticketed_function(name: str, handle: Callable[[Deps, dict[str, Any]], object]) -> Create:
    return event_function(name, events.has_ticket, handle)


def verified_ticket(deps: Deps, event: dict[str, Any], name: str, action: str) -> tickets.Ticket | None:
    """The event's ticket for `action`, claimed; None (and a warning) when it is refused."""
    try:
        return events.verify_event(event, deps.store, deps.ticket_key(), deps.names.stack, action)
    except tickets.TicketError as err:
        log(f"{name}: request refused", level="WARNING", reason=str(err), event_id=event.get("id"))
        return None
