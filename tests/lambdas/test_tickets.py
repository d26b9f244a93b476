"""Pipeline tickets: every claim checked, single use."""

from __future__ import annotations

import time

import jwt
import pytest

from lambdas.shared import tickets
from lambdas.shared.tickets import TicketError

KEY = b"k" * 64


class Seen:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    def __call__(self, ticket_id: str, expires_at: int) -> bool:
        if ticket_id in self.ids:
            return False
        self.ids.add(ticket_id)
        return True


def make(**kw: object) -> str:
    args: dict[str, object] = {
        "stack": "battleshiper",
        "action": "battleshiper.init",
        "subject": "1",
        "project": "shop",
        "ttl": 600,
    } | kw
    return tickets.issue(KEY, **args)  # type: ignore[arg-type]


def test_a_valid_ticket_is_accepted_once() -> None:
    seen = Seen()
    token = make()
    ticket = tickets.verify(
        token, KEY, stack="battleshiper", action="battleshiper.init", project="shop", claim_once=seen
    )
    assert (ticket.subject, ticket.project, ticket.action) == ("1", "shop", "battleshiper.init")
    with pytest.raises(TicketError, match="already used"):
        tickets.verify(token, KEY, stack="battleshiper", action="battleshiper.init", claim_once=seen)


@pytest.mark.parametrize(
    ("token", "action", "project", "key"),
    [
        (make(), "battleshiper.delete", "shop", KEY),  # another action (audience)
        (make(), "battleshiper.init", "other", KEY),  # another project
        (make(stack="other"), "battleshiper.init", "shop", KEY),  # another installation (issuer)
        (make(ttl=-120), "battleshiper.init", "shop", KEY),  # expired beyond the leeway
        (make(), "battleshiper.init", "shop", b"x" * 64),  # another key
        (
            jwt.encode({"aud": "battleshiper.init", "project": "shop", "exp": int(time.time()) + 60}, KEY),
            "battleshiper.init",
            "shop",
            KEY,
        ),  # claims missing
    ],
)
def test_tickets_for_something_else_are_refused(token: str, action: str, project: str, key: bytes) -> None:
    with pytest.raises(TicketError):
        tickets.verify(token, key, stack="battleshiper", action=action, project=project, claim_once=Seen())
