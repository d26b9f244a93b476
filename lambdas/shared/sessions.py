"""Sessions of the dashboard: a short-lived HS256 JWT in a `__Host-` cookie, revocable server side.

Claims: `iss` (the dashboard origin), `aud`, `sub` (GitHub user id), `iat`, `exp` and `ver`, the
user's `session_version`. Every authenticated call loads the user and compares `ver`: sign-out and
role changes bump it, so a stolen token stops working at once (reference defect 7).

The OAuth sign-in keeps its `state` and PKCE verifier in a second signed cookie for a few minutes
(reference defect 4).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from lambdas.shared import jwts
from lambdas.shared.names import OAUTH_STATE_COOKIE, SESSION_COOKIE

SESSION_AUDIENCE = "battleshiper:session"
STATE_AUDIENCE = "battleshiper:oauth-state"
SESSION_TTL = 3600
STATE_TTL = 600
# A session may say it was issued this far ahead of our clock (skew).
CLOCK_SKEW = 60
# An expired session can be renewed through GitHub (stored refresh token) for this long.
REFRESH_WINDOW = 14 * 86400


class SessionError(Exception):
    """No valid session: missing, forged, expired, or revoked."""


@dataclass(frozen=True)
class Session:
    user_id: str
    version: int
    issued_at: int
    expires_at: int

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def issuer(domain: str) -> str:
    return f"https://{domain}"


def issue_session(
    key: bytes, *, domain: str, user_id: str, version: int, now: Callable[[], float] = time.time
) -> str:
    claims = {"iss": issuer(domain), "aud": SESSION_AUDIENCE, "sub": user_id, "ver": version}
    return jwts.issue(key, claims, ttl=SESSION_TTL, now=now)


def verify_session(
    token: str,
    key: bytes,
    *,
    domain: str,
    accept_expired: bool = False,
    now: Callable[[], float] = time.time,
) -> Session:
    """Check signature, issuer, audience and claims; expiry too unless `accept_expired` (sign-out and
    refresh accept an expired session, within `REFRESH_WINDOW`)."""
    try:
        claims = jwts.verify(
            token, key, audience=SESSION_AUDIENCE, issuer=issuer(domain),
            require=("iss", "aud", "sub", "iat", "exp", "ver"), now=now, skew=CLOCK_SKEW,
            grace=REFRESH_WINDOW if accept_expired else 0,
        )
    except jwts.InvalidToken as err:
        raise SessionError(str(err)) from err
    if not isinstance(claims["sub"], str) or not isinstance(claims["ver"], int):
        raise SessionError("malformed claims")
    return Session(claims["sub"], claims["ver"], int(claims["iat"]), int(claims["exp"]))


def cookie(name: str, value: str, max_age: int) -> str:
    """A `__Host-` cookie: Secure, HttpOnly, host-only, Path=/. Lax, so the GitHub redirect back to
    the callback (a top-level navigation) carries the state cookie."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax"


def clear_cookie(name: str) -> str:
    expired = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    return f"{name}=; {expired}; Path=/; Secure; HttpOnly; SameSite=Lax"


def session_cookie(token: str) -> str:
    return cookie(SESSION_COOKIE, token, SESSION_TTL + REFRESH_WINDOW)


# --- OAuth state -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthState:
    state: str
    verifier: str

    @property
    def challenge(self) -> str:
        """PKCE S256 challenge of the verifier."""
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_oauth_state() -> OAuthState:
    return OAuthState(secrets.token_urlsafe(24), secrets.token_urlsafe(48))


def issue_state(key: bytes, *, domain: str, state: OAuthState, now: Callable[[], float] = time.time) -> str:
    claims = {"iss": issuer(domain), "aud": STATE_AUDIENCE, "state": state.state, "verifier": state.verifier}
    return jwts.issue(key, claims, ttl=STATE_TTL, now=now)


def verify_state(token: str, key: bytes, *, domain: str, now: Callable[[], float] = time.time) -> OAuthState:
    try:
        claims = jwts.verify(
            token, key, audience=STATE_AUDIENCE, issuer=issuer(domain),
            require=("iss", "aud", "exp", "state", "verifier"), now=now,
        )
    except jwts.InvalidToken as err:
        raise SessionError(str(err)) from err
    return OAuthState(str(claims["state"]), str(claims["verifier"]))


def state_cookie(token: str) -> str:
    return cookie(OAUTH_STATE_COOKIE, token, STATE_TTL)
