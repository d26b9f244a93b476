"""Sign-in with GitHub (OAuth with state and PKCE), session refresh and sign-out.

`callback` registers a first-time user (the operator's administrator, named by numeric GitHub id,
gets ROLE_MANAGER, once: reference defect 8) and updates a known one. The GitHub refresh token is
kept KMS-encrypted; `refresh` renews an expired session with it and stores the rotated one.
"""

from __future__ import annotations

import hmac
import re
import urllib.parse
from typing import Any

from lambdas.api.context import api_function, deps_of
from lambdas.shared import access, sessions, tokens
from lambdas.shared.api import ApiError, QueryModel, Request, redirect
from lambdas.shared.deps import Deps
from lambdas.shared.entry import lambda_handler
from lambdas.shared.github import GitHubError, GitHubUser, Installation, OAuthTokens
from lambdas.shared.http import json_response
from lambdas.shared.log import log
from lambdas.shared.models import Role, User
from lambdas.shared.names import OAUTH_STATE_COOKIE, SESSION_COOKIE, Env
from lambdas.shared.store import Conflict

# Claimed once: after the first administrator registered, the login no longer grants anything.
BOOTSTRAP_NONCE = "bootstrap:role-manager"
BOOTSTRAP_EXPIRY = 2**40  # never expires (DynamoDB TTL ignores it)


class CallbackQuery(QueryModel):
    code: str | None = None
    state: str | None = None
    error: str | None = None


def _redirect_uri(deps: Deps) -> str:
    return f"https://{deps.domain}/api/auth/callback"


def authorize(request: Request) -> dict[str, Any]:
    deps = deps_of(request)
    state = sessions.new_oauth_state()
    url = deps.github.authorize_url(
        redirect_uri=_redirect_uri(deps), state=state.state, code_challenge=state.challenge
    )
    cookie = sessions.state_cookie(sessions.issue_state(deps.session_key(), domain=deps.domain, state=state,
                                                        now=deps.now))
    return redirect(url, [cookie])


def _github_failure(err: GitHubError) -> ApiError:
    if err.status in (400, 401, 403, 404, 422):
        return ApiError(400, "github_refused", "GitHub did not accept the sign-in; please try again.")
    return ApiError(502, "github_unavailable", "GitHub could not be reached; please try again.")


def _installation(found: list[Installation], user_id: int) -> int | None:
    """The user's own installation of the App if there is one, else the first they can access."""
    own = [i for i in found if i.account_id == user_id]
    chosen = own or found
    return chosen[0].id if chosen else None


def _register_or_update(deps: Deps, gh: GitHubUser, installation: int | None, grant: OAuthTokens) -> User:
    user_id = str(gh.id)
    # The user's own token: what they can access is asked with it (lambdas/shared/access.py).
    profile: dict[str, Any] = {"login": gh.login, "name": gh.name, "avatar_url": gh.avatar_url,
                               "github_refresh_token": None, **access.token_values(deps, user_id, grant)}
    if installation is not None:
        profile["installation_id"] = installation
    existing = deps.store.users.get(id=user_id)
    if existing is None:
        roles = [Role.USER]
        # The id `battleshiper setup` resolved the operator's login to: a renamed or re-claimed login
        # matches nothing.
        admin = deps.env.get(Env.ADMIN_GITHUB_ID, "").strip()
        if admin and admin == str(gh.id) and deps.store.claim_nonce(
            BOOTSTRAP_NONCE, BOOTSTRAP_EXPIRY
        ):
            roles.append(Role.ROLE_MANAGER)
            log("administrator registered", user_id=user_id, login=gh.login)
        user = User(id=user_id, roles=roles, **profile)
        try:
            deps.store.users.create(user)
            log("user registered", user_id=user_id)
            return user
        except Conflict:
            pass  # registered by a parallel sign-in: update below
    return deps.store.users.update({"id": user_id}, profile)


def callback(request: Request) -> dict[str, Any]:
    deps = deps_of(request)
    query = request.args(CallbackQuery)
    clear_state = sessions.clear_cookie(OAUTH_STATE_COOKIE)
    if query.error:
        # The user declined (or GitHub failed): back to the dashboard, which shows the reason.
        code = re.sub(r"[^a-z0-9_]", "", query.error.lower())[:64] or "error"
        return redirect(f"https://{deps.domain}/?" + urllib.parse.urlencode({"sign_in_error": code}),
                        [clear_state])
    cookie = request.cookies.get(OAUTH_STATE_COOKIE)
    if not cookie or not query.state or not query.code:
        raise ApiError(400, "invalid_state", "The sign-in expired or did not start here; sign in again.")
    try:
        expected = sessions.verify_state(cookie, deps.session_key(), domain=deps.domain, now=deps.now)
    except sessions.SessionError as err:
        raise ApiError(400, "invalid_state", "The sign-in expired; please sign in again.") from err
    if not hmac.compare_digest(expected.state.encode(), query.state.encode()):
        raise ApiError(400, "invalid_state", "The sign-in did not start here; please sign in again.")
    try:
        grant = deps.github.exchange_code(
            query.code, redirect_uri=_redirect_uri(deps), verifier=expected.verifier
        )
        gh = deps.github.user(grant.access_token)
    except GitHubError as err:
        raise _github_failure(err) from err
    try:
        installation = _installation(deps.github.user_installations(grant.access_token), gh.id)
    except GitHubError:
        installation = None  # not fatal: listing repositories will say the App is not installed
    user = _register_or_update(deps, gh, installation, grant)
    session = sessions.issue_session(
        deps.session_key(), domain=deps.domain, user_id=user.id, version=user.session_version, now=deps.now
    )
    return redirect(f"https://{deps.domain}/profile", [sessions.session_cookie(session), clear_state])


def refresh(request: Request) -> dict[str, Any]:
    """A fresh session. A live session is simply re-issued; an expired one (within the refresh window)
    only through GitHub, with the stored refresh token, which is rotated."""
    deps = deps_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise ApiError(401, "unauthenticated", "Please sign in.")
    key = deps.session_key()
    try:
        session = sessions.verify_session(token, key, domain=deps.domain, accept_expired=True, now=deps.now)
    except sessions.SessionError as err:
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.") from err
    user = deps.store.users.get(id=session.user_id)
    if user is None or user.session_version != session.version:
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.")
    if session.expired(deps.now()):
        user = _renew_through_github(deps, user)
    # Never past the session's absolute lifetime (`sessions.SESSION_LIFETIME`) from its sign-in.
    ends = session.signed_in_at + sessions.SESSION_LIFETIME
    try:
        new = sessions.issue_session(key, domain=deps.domain, user_id=user.id, version=user.session_version,
                                     now=deps.now, signed_in_at=session.signed_in_at)
    except sessions.SessionError as err:
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.") from err
    expires = min(int(deps.now()) + sessions.SESSION_TTL, ends)
    return json_response(200, {"message": "session refreshed", "expires_at": expires,
                               "lifetime_ends_at": ends}, cookies=[sessions.session_cookie(new)])


def _renew_through_github(deps: Deps, user: User) -> User:
    if not user.github_refresh_token:
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.")
    kms = deps.client("kms")
    try:
        refresh = tokens.decrypt(kms, deps.env[Env.TOKEN_KEY_ARN], user.github_refresh_token, user.id)
        grant = deps.github.refresh(refresh)
        gh = deps.github.user(grant.access_token)
    except GitHubError as err:
        if err.status in (400, 401, 403):
            raise ApiError(401, "unauthenticated", "GitHub ended your sign-in; sign in again.") from err
        raise ApiError(502, "github_unavailable", "GitHub could not be reached; please try again.") from err
    if str(gh.id) != user.id:
        raise ApiError(401, "unauthenticated", "Please sign in again.")
    values: dict[str, Any] = {"login": gh.login, "name": gh.name, "avatar_url": gh.avatar_url,
                              **access.token_values(deps, user.id, grant)}
    try:
        return deps.store.users.update({"id": user.id}, values, "session_version = :v",
                                       {":v": user.session_version})
    except Conflict as err:  # signed out meanwhile
        raise ApiError(401, "unauthenticated", "Your session has ended; please sign in again.") from err


def logout(request: Request) -> dict[str, Any]:
    """Ends every session of the user (version bump), forgets the GitHub token, clears the cookies.
    Works with an expired or broken session too (reference defect 52)."""
    deps = deps_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            session = sessions.verify_session(token, deps.session_key(), domain=deps.domain,
                                              accept_expired=True, now=deps.now)
            deps.store.users.update(
                {"id": session.user_id},
                {"session_version": session.version + 1, "github_refresh_token": None,
                 "github_access_token": None},
                "session_version = :v",
                {":v": session.version},
            )
            log("signed out", user_id=session.user_id)
        except (sessions.SessionError, Conflict):
            pass  # nothing to revoke: the session was not valid anyway
    return json_response(
        200,
        {"message": "signed out"},
        cookies=[sessions.clear_cookie(SESSION_COOKIE), sessions.clear_cookie(OAUTH_STATE_COOKIE)],
    )


ROUTES = {
    "GET /api/auth/authorize": authorize,
    "GET /api/auth/callback": callback,
    "POST /api/auth/refresh": refresh,
    "POST /api/auth/logout": logout,
}


create = api_function(ROUTES)
handler = lambda_handler(create)
