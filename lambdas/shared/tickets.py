"""Pipeline tickets: short JWTs that say who asked for what on which project.

Claims: `iss` (the installation), `aud` (the action, e.g. `battleshiper.init`), `sub` (user id),
`project`, `iat`, `exp`, `jti`. A consumer checks every one and claims `jti` once, so a ticket
cannot be replayed (reference defects 14, 26). Deploys are not ticketed: they are correlated with
the deployment record by execution id, server side.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from lambdas.shared import jwts

LEEWAY_SECONDS = 30


class TicketError(Exception):
    """The ticket is invalid, expired, meant for something else, or already used."""


@dataclass(frozen=True)
class Ticket:
    action: str
    subject: str
    project: str
    id: str
    expires_at: int


def issuer(stack: str) -> str:
    return f"battleshiper:{stack}"


def issue(
    key: bytes,
    *,
    stack: str,
    action: str,
    subject: str,
    project: str,
    ttl: int,
    now: Callable[[], float] = time.time,
) -> str:
    claims = {
        "iss": issuer(stack),
        "aud": action,
        "sub": subject,
        "project": project,
        "jti": secrets.token_urlsafe(16),
    }
    return jwts.issue(key, claims, ttl=ttl, now=now)


def verify(
    token: str,
    key: bytes,
    *,
    stack: str,
    action: str,
    project: str | None = None,
    claim_once: Callable[[str, int], bool],
    now: Callable[[], float] = time.time,
) -> Ticket:
    """Check signature, issuer, audience, expiry, required claims and project, then claim the ticket
    id (`claim_once(jti, exp)` returns False when it was used before)."""
    try:
        claims = jwts.verify(
            token, key, audience=action, issuer=issuer(stack),
            require=("iss", "aud", "sub", "exp", "iat", "jti"), now=now,
            skew=LEEWAY_SECONDS, grace=LEEWAY_SECONDS,
        )
    except jwts.InvalidToken as err:
        raise TicketError(f"invalid ticket: {err}") from err
    if not isinstance(claims.get("project"), str) or (project is not None and claims["project"] != project):
        raise TicketError("ticket is for another project")
    ticket = Ticket(action, str(claims["sub"]), claims["project"], str(claims["jti"]), int(claims["exp"]))
    if not claim_once(ticket.id, ticket.expires_at):
        raise TicketError("ticket was already used")
    return ticket
