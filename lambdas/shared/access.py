"""What a user can access on GitHub, asked with that user's own token (user-to-server), never the
App's: an App installed on an organisation covers every repository of it, while each member may see
only some. Project creation, the repository listing and every build trigger ask
here.

The platform holds the user's access token and its single-use refresh token, KMS-encrypted on the user
record (`lambdas.shared.tokens`). An expired access token is renewed with the refresh token and both
rotated ones are stored, conditionally: of two parallel renewals one wins, the other reads its result.
"""

from __future__ import annotations

import contextlib
from typing import Any

from lambdas.shared import tokens
from lambdas.shared.deps import Deps
from lambdas.shared.github import GitHubError, OAuthTokens, RepositoryInfo
from lambdas.shared.models import User
from lambdas.shared.names import Env
from lambdas.shared.store import Conflict

# Renew this long before GitHub's expiry (8 hours), so a token never runs out mid-request.
EXPIRY_MARGIN = 300
# GitHub's user access tokens last 8 hours; a grant that does not say is assumed to as well.
DEFAULT_TOKEN_TTL = 28800
# Answers meaning "this user cannot": a revoked or expired grant, no access to the installation.
REFUSED = (400, 401, 403, 404)


class NoAccess(Exception):
    """The user cannot access the repository (or GitHub ended their grant); the message says which,
    `code` for API answers."""

    def __init__(self, message: str, code: str = "github_sign_in_needed") -> None:
        super().__init__(message)
        self.code = code


class GitHubUnavailable(Exception):
    """GitHub could not answer: nothing is known about the user's access."""


def token_values(deps: Deps, user_id: str, grant: OAuthTokens) -> dict[str, Any]:
    """The user record's fields holding a grant (encrypted, bound to the user)."""
    kms, key = deps.client("kms"), deps.env[Env.TOKEN_KEY_ARN]
    values: dict[str, Any] = {
        "github_access_token": tokens.encrypt(kms, key, grant.access_token, user_id),
        "github_token_expires_at": int(deps.now()) + (grant.expires_in or DEFAULT_TOKEN_TTL),
    }
    if grant.refresh_token:  # single use: keep the new one, or the next renewal fails (defect 46)
        values["github_refresh_token"] = tokens.encrypt(kms, key, grant.refresh_token, user_id)
    return values


def user_token(deps: Deps, user: User) -> str:
    """A live access token of the user: the held one, else a renewed one (stored)."""
    kms, key = deps.client("kms"), deps.env[Env.TOKEN_KEY_ARN]
    if user.github_access_token and user.github_token_expires_at > deps.now() + EXPIRY_MARGIN:
        return tokens.decrypt(kms, key, user.github_access_token, user.id)
    if not user.github_refresh_token:
        raise NoAccess(f"GitHub access of user {user.login or user.id} cannot be checked: they must sign "
                       "in again")
    try:
        grant = deps.github.refresh(tokens.decrypt(kms, key, user.github_refresh_token, user.id))
    except GitHubError as err:
        renewed = _renewed_meanwhile(deps, user)
        if renewed is not None:
            return renewed
        if err.status in REFUSED:
            raise NoAccess(f"GitHub ended the sign-in of user {user.login or user.id}: they must sign in "
                           "again") from err
        raise GitHubUnavailable("GitHub could not be reached") from err
    # Signed out or in again meanwhile (Conflict): this token still serves this one request.
    with contextlib.suppress(Conflict):
        deps.store.users.update({"id": user.id}, token_values(deps, user.id, grant),
                                "#rt = :old", {":old": user.github_refresh_token},
                                extra_names={"#rt": "github_refresh_token"})
    return grant.access_token


def _renewed_meanwhile(deps: Deps, user: User) -> str | None:
    """The access token a parallel renewal stored (it used the single-use refresh token first)."""
    now = deps.store.users.get(id=user.id)
    if now is None or now.github_refresh_token == user.github_refresh_token or not now.github_access_token:
        return None
    return tokens.decrypt(deps.client("kms"), deps.env[Env.TOKEN_KEY_ARN], now.github_access_token, user.id)


def repositories(deps: Deps, user: User, installation_id: int) -> list[RepositoryInfo]:
    """The installation's repositories this user can access (empty when they cannot see it)."""
    token = user_token(deps, user)
    try:
        return deps.github.user_repositories(token, installation_id)
    except GitHubError as err:
        if err.status == 404:  # GitHub's answer when the user cannot access the installation
            return []
        if err.status in REFUSED:
            raise NoAccess(f"GitHub refused the token of user {user.login or user.id}: they must sign in "
                           "again") from err
        raise GitHubUnavailable("GitHub could not be reached") from err


def repository(deps: Deps, user: User, installation_id: int, repository_id: int) -> RepositoryInfo:
    """The repository if this user can access it through the installation, else `NoAccess`."""
    found = next((r for r in repositories(deps, user, installation_id) if r.id == repository_id), None)
    if found is None:
        raise NoAccess(f"user {user.login or user.id} has no access to the repository on GitHub",
                       "repository_not_installed")
    return found
