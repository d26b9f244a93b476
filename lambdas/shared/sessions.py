"""Sessions of the dashboard: a short-lived HS256 JWT in a `__Host-` cookie, revocable server side.

Claims: `iss` (the dashboard origin), `aud`, `sub` (GitHub user id), `iat`, `exp`, `ver`, the
user's `session_version`, and `auth_time`, when the user signed in. Every authenticated call loads the
user and compares `ver`: sign-out and role changes bump it, so a stolen token stops working at once
(reference defect 7).

A session has an absolute lifetime, `SESSION_LIFETIME` from `auth_time`: refresh re-issues a session
with the same `auth_time` and never past that end, so a stolen session cannot be kept alive by
refreshing it; after it the user signs in with GitHub again.

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
# No session lives longer than this from its sign-in, however often it is refreshed.
SESSION_LIFETIME = 7 * 86400


class SessionError(Exception):
    """No valid session: missing, forged, expired, or revoked."""


@dataclass(frozen=True)
class Session:
    user_id: str
    version: int
    issued_at: int
    expires_at: int
    signed_in_at: int

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def issuer(domain: str) -> str:
    return f"https://{domain}"


def issue_session(
    key: bytes,
    *,
    domain: str,
    user_id: str,
    version: int,
    now: Callable[[], float] = time.time,
    signed_in_at: int | None = None,
) -> str:
    """A session of a new sign-in, or (`signed_in_at`) a refreshed one, which ends by the lifetime's end
    at the latest. SessionError once the lifetime is over."""
    issued = int(now())
    signed_in = issued if signed_in_at is None else signed_in_at
    ttl = min(SESSION_TTL, signed_in + SESSION_LIFETIME - issued)
    if ttl <= 0:
        raise SessionError("session lifetime over")
    claims = {"iss": issuer(domain), "aud": SESSION_AUDIENCE, "sub": user_id, "ver": version,
              "auth_time": signed_in}
    return jwts.issue(key, claims, ttl=ttl, now=now)


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
            require=("iss", "aud", "sub", "iat", "exp", "ver", "auth_time"), now=now, skew=CLOCK_SKEW,
            grace=REFRESH_WINDOW if accept_expired else 0,
        )
    except jwts.InvalidToken as err:
        raise SessionError(str(err)) from err
    signed_in = claims["auth_time"]
    if not isinstance(claims["sub"], str) or not isinstance(claims["ver"], int) or not isinstance(
        signed_in, int
    ):
        raise SessionError("malformed claims")
    if signed_in > int(claims["iat"]) or now() >= signed_in + SESSION_LIFETIME:
        raise SessionError("session lifetime over")
    return Session(claims["sub"], claims["ver"], int(claims["iat"]), int(claims["exp"]), signed_in)


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
