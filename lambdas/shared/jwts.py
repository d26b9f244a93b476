"""The platform's own JWTs (sessions, the OAuth state, pipeline tickets): HS256, issued and checked
against an injected clock, so tests and the local platform can move time. PyJWT checks the signature,
issuer, audience and required claims; the times are checked here, with the caller's clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """Forged, malformed, for something else, expired or issued in the future; the message says which."""


def issue(key: bytes, claims: Mapping[str, Any], *, ttl: int, now: Callable[[], float] = time.time) -> str:
    """`claims` signed, with `iat` now and `exp` `ttl` seconds later."""
    issued = int(now())
    return jwt.encode({**claims, "iat": issued, "exp": issued + ttl}, key, algorithm=ALGORITHM)


def verify(
    token: str,
    key: bytes,
    *,
    audience: str,
    issuer: str,
    require: Iterable[str],
    now: Callable[[], float] = time.time,
    skew: int = 0,
    grace: int = 0,
) -> dict[str, Any]:
    """The token's claims, once checked. One that requires `iat` may be issued at most `skew` seconds
    ahead of `now`; it is expired `grace` seconds after its `exp`."""
    required = list(require)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": required, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as err:
        raise InvalidToken(type(err).__name__) from err
    current = now()
    if "iat" in required and int(claims["iat"]) > current + skew:
        raise InvalidToken("issued in the future")
    if current >= int(claims["exp"]) + grace:
        raise InvalidToken("expired")
    return claims
