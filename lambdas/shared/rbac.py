"""Roles and what they may do. Roles gate only the administration API; user and project endpoints
check ownership. The roles are read from the user record on every call, never from a token."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from lambdas.shared.models import Role, User


class Permission(StrEnum):
    READ_USER = "READ_USER"
    READ_PROJECT = "READ_PROJECT"
    READ_LOGS = "READ_LOGS"
    READ_SUBSCRIPTION = "READ_SUBSCRIPTION"
    WRITE_USER = "WRITE_USER"
    WRITE_PROJECT = "WRITE_PROJECT"
    WRITE_SUBSCRIPTION = "WRITE_SUBSCRIPTION"
    WRITE_ROLE = "WRITE_ROLE"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.USER: frozenset(),
    Role.SUPPORT: frozenset({P.READ_USER, P.READ_PROJECT}),
    Role.MAINTAINER: frozenset({P.READ_USER, P.READ_PROJECT, P.READ_LOGS, P.WRITE_USER, P.WRITE_PROJECT}),
    Role.SUBSCRIPTION_MANAGER: frozenset({P.READ_SUBSCRIPTION, P.WRITE_SUBSCRIPTION}),
    Role.ROLE_MANAGER: frozenset({P.WRITE_ROLE}),
}


def permissions(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def allowed(user: User, *needed: Permission) -> bool:
    """True when the user's roles grant every permission in `needed`."""
    return set(needed) <= permissions(user.roles)
