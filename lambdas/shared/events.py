"""Pipeline events on the platform's bus: ticketed init and delete requests, and the build event.

Init and delete carry a ticket (`tickets`: issuer, audience = action, subject, project, expiry, id);
the build event carries only the execution id (reference defects 2, 42). A ticket is single use:
its id is claimed together with the EventBridge event id, so Lambda's and EventBridge's own retries of
the same event pass while a copy put on the bus again (a new event id) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import names, tickets
from lambdas.shared.models import Project
from lambdas.shared.names import Env
from lambdas.shared.store import Store, is_conditional_failure

# Long enough for EventBridge's retries (an hour at most, see templates/pipeline.py) and Lambda's.
TICKET_TTL_SECONDS = 3600 + 900


class EventError(Exception):
    """The bus did not take an event."""


def _put(events_client: Any, bus: str, detail_type: str, detail: Mapping[str, Any]) -> None:
    response = events_client.put_events(
        Entries=[
            {
                "Source": names.EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise EventError(f"event {detail_type} not accepted: {entry.get('ErrorCode', 'unknown error')}")


def _send_ticketed(
    events_client: Any, key: bytes, project: Project, user_id: str, action: str, env: Mapping[str, str]
) -> None:
    token = tickets.issue(
        key,
        stack=env.get(Env.STACK, names.DEFAULT_STACK_NAME),
        action=action,
        subject=user_id,
        project=project.name,
        ttl=TICKET_TTL_SECONDS,
    )
    _put(
        events_client, env[Env.EVENT_BUS], action, {names.TICKET_DETAIL_FIELD: token, "project": project.name}
    )


def send_init(events_client: Any, key: bytes, project: Project, user_id: str, env: Mapping[str, str]) -> None:
    """Ask the init function to create the project's stack (`key`: the ticket key)."""
    _send_ticketed(events_client, key, project, user_id, names.INIT_DETAIL_TYPE, env)


def send_delete(
    events_client: Any, key: bytes, project: Project, user_id: str, env: Mapping[str, str]
) -> None:
    """Ask the delete function to remove the project (its stack, files, routes and records)."""
    _send_ticketed(events_client, key, project, user_id, names.DELETE_DETAIL_TYPE, env)


def send_build(events_client: Any, bus: str, project: str, execution_id: str) -> None:
    """Start a build: the project's build rule submits a Batch job with this execution id only."""
    _put(events_client, bus, names.build_detail_type(project), {names.BUILD_EXECUTION_FIELD: execution_id})


def claim_for_event(store: Store, event_id: str) -> Any:
    """A `claim_once` for `tickets.verify`: a ticket id may be claimed again only by the same event."""

    def claim(ticket_id: str, expires_at: int) -> bool:
        try:
            store.nonces.put_item(
                Item={"id": f"ticket:{ticket_id}", names.EXPIRY_ATTRIBUTE: expires_at, "event_id": event_id},
                ConditionExpression="attribute_not_exists(id) OR event_id = :event",
                ExpressionAttributeValues={":event": event_id},
            )
        except ClientError as err:
            if is_conditional_failure(err):
                return False
            raise
        return True

    return claim


def has_ticket(event: Mapping[str, Any]) -> bool:
    """Whether the event could be a ticketed pipeline request (checked in full by `verify_event`)."""
    detail = event.get("detail")
    return isinstance(detail, Mapping) and isinstance(detail.get(names.TICKET_DETAIL_FIELD), str)


def verify_event(
    event: Mapping[str, Any], store: Store, key: bytes, stack: str, action: str
) -> tickets.Ticket:
    """Check a ticketed pipeline event: the envelope (source, detail type) and its ticket. Raises
    `tickets.TicketError` for anything that is not a valid, unused ticket for exactly this action."""
    if event.get("source") != names.EVENT_SOURCE or event.get("detail-type") != action:
        raise tickets.TicketError("event is not a pipeline request for this function")
    detail = event.get("detail") or {}
    token = detail.get(names.TICKET_DETAIL_FIELD) if isinstance(detail, Mapping) else None
    if not isinstance(token, str) or not token:
        raise tickets.TicketError("event carries no ticket")
    return tickets.verify(
        token, key, stack=stack, action=action, claim_once=claim_for_event(store, str(event.get("id", "")))
    )
