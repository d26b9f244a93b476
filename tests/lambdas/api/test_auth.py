"""Sign-in with GitHub through the real stand-in, sessions, refresh and sign-out."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Any

from lambdas.shared import names, sessions, tokens
from lambdas.shared.models import Role
from tests.lambdas.api.conftest import Api, body
from tests.support.events import DOMAIN


def cookie_values(response: dict[str, Any]) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.split("=", 1)[1].split(";", 1)[0] for c in response["cookies"]}


def follow_github(location: str) -> str:
    """What the browser does at GitHub's authorize page: the stand-in redirects back with a code."""
    url = urllib.parse.urlsplit(location)
    conn = http.client.HTTPConnection(url.netloc)
    conn.request("GET", f"{url.path}?{url.query}")
    answer = conn.getresponse()
    assert answer.status == 302
    return str(answer.getheader("Location"))


def sign_in(api: Api, github_id: int = 1001, login: str = "alice") -> dict[str, Any]:
    """The whole browser flow; returns the callback response."""
    api.github.signed_in = api.github.accounts.get(github_id) or api.github.add_account(github_id, login)
    start = api.call("GET", "/api/auth/authorize", origin=None)
    assert start["statusCode"] == 302
    back = urllib.parse.urlsplit(follow_github(start["headers"]["location"]))
    assert back.path == "/api/auth/callback"
    return api.call(
        "GET",
        "/api/auth/callback",
        origin=None,
        query=dict(urllib.parse.parse_qsl(back.query)),
        cookies=cookie_values(start),
    )


def test_authorize_redirects_to_github_with_state_and_pkce_in_a_host_cookie(api: Api) -> None:
    response = api.call("GET", "/api/auth/authorize", origin=None)
    location = urllib.parse.urlsplit(response["headers"]["location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == f"{api.github.url}/login/oauth/authorize"
    )
    assert query["redirect_uri"] == f"https://{DOMAIN}/api/auth/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20
    (cookie,) = response["cookies"]
    assert cookie.startswith(names.OAUTH_STATE_COOKIE + "=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie


def test_first_sign_in_registers_the_user_and_sets_a_session(api: Api) -> None:
    response = sign_in(api)
    assert response["statusCode"] == 302
    assert response["headers"]["location"] == f"https://{DOMAIN}/profile"
    cookies = cookie_values(response)
    assert cookies[names.OAUTH_STATE_COOKIE] == ""  # the state cookie is spent
    session_cookie = next(c for c in response["cookies"] if c.startswith(names.SESSION_COOKIE))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    user = api.store.users.get(id="1001")
    assert user is not None and user.login == "alice" and user.roles == [Role.USER]
    # The GitHub refresh token is stored encrypted, never in clear.
    assert user.github_refresh_token and not user.github_refresh_token.startswith("ghr_")
    key = api.platform.env("lambdas.api.auth.handler")["TOKEN_KEY_ARN"]
    plain = tokens.decrypt(api.admin.client("kms"), key, user.github_refresh_token, user.id)
    assert plain in api.github.refresh_tokens
    info = api.call("GET", "/api/user/fetchinfo", session=cookies[names.SESSION_COOKIE])
    assert info["statusCode"] == 200 and body(info)["login"] == "alice"
    assert "github_refresh_token" not in info["body"] and plain not in info["body"]


def test_sign_in_finds_the_users_app_installation(api: Api, alice_repo: Any) -> None:
    alice_repo()
    sign_in(api)
    user = api.store.users.get(id="1001")
    assert user is not None and user.installation_id == 501


def test_the_administrator_id_gets_role_manager_once_whatever_the_login(api: Api) -> None:
    # The platform knows the admin by the numeric id setup resolved (2001), not by a login.
    sign_in(api, 2002, "theadmin")  # a login like the admin's: nothing
    claimer = api.store.users.get(id="2002")
    assert claimer is not None and claimer.roles == [Role.USER]
    sign_in(api, 2001, "someone-else")
    admin = api.store.users.get(id="2001")
    assert admin is not None and Role.ROLE_MANAGER in admin.roles
    # Signing in again (after a rename at GitHub) keeps the role and the new login.
    api.github.accounts[2001].login = "theadmin-renamed"
    sign_in(api, 2001)
    again = api.store.users.get(id="2001")
    assert again is not None and Role.ROLE_MANAGER in again.roles and again.login == "theadmin-renamed"


def test_callback_refuses_a_wrong_or_missing_state(api: Api) -> None:
    api.github.signed_in = api.github.add_account(1001, "alice")
    start = api.call("GET", "/api/auth/authorize", origin=None)
    back = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(follow_github(start["headers"]["location"])).query)
    )
    forged = api.call(
        "GET",
        "/api/auth/callback",
        origin=None,
        query={**back, "state": "attacker"},
        cookies=cookie_values(start),
    )
    assert forged["statusCode"] == 400 and body(forged)["error"]["code"] == "invalid_state"
    no_cookie = api.call("GET", "/api/auth/callback", origin=None, query=back)
    assert no_cookie["statusCode"] == 400
    assert api.store.users.get(id="1001") is None


def test_callback_refuses_an_expired_state(api: Api) -> None:
    api.github.signed_in = api.github.add_account(1001, "alice")
    start = api.call("GET", "/api/auth/authorize", origin=None)
    back = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(follow_github(start["headers"]["location"])).query)
    )
    api.clock[0] += sessions.STATE_TTL + 1
    late = api.call("GET", "/api/auth/callback", origin=None, query=back, cookies=cookie_values(start))
    assert late["statusCode"] == 400


def test_callback_sends_a_github_error_back_to_the_dashboard(api: Api) -> None:
    response = api.call(
        "GET",
        "/api/auth/callback",
        origin=None,
        query={"error": "access_denied", "error_description": "The user denied"},
    )
    assert response["statusCode"] == 302
    assert response["headers"]["location"] == f"https://{DOMAIN}/?sign_in_error=access_denied"


def test_callback_reports_an_unreachable_github_as_502(api: Api) -> None:
    api.github.signed_in = api.github.add_account(1001, "alice")
    start = api.call("GET", "/api/auth/authorize", origin=None)
    back = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(follow_github(start["headers"]["location"])).query)
    )
    api.github.down = True
    response = api.call("GET", "/api/auth/callback", origin=None, query=back, cookies=cookie_values(start))
    assert response["statusCode"] == 502


def test_sessions_expire_and_refresh_rotates_the_github_token_every_time(api: Api) -> None:
    session = cookie_values(sign_in(api))[names.SESSION_COOKIE]
    api.clock[0] += sessions.SESSION_TTL + 5
    assert api.call("GET", "/api/user/fetchinfo", session=session)["statusCode"] == 401
    for _ in range(3):  # GitHub refresh tokens are single use: each refresh must store the new one
        refreshed = api.call("POST", "/api/auth/refresh", session=session)
        assert refreshed["statusCode"] == 200, refreshed["body"]
        session = cookie_values(refreshed)[names.SESSION_COOKIE]
        assert api.call("GET", "/api/user/fetchinfo", session=session)["statusCode"] == 200
        api.clock[0] += sessions.SESSION_TTL + 5


def test_refresh_cannot_extend_a_session_past_its_absolute_lifetime(api: Api) -> None:
    signed_in_at = int(api.clock[0])
    session = cookie_values(sign_in(api))[names.SESSION_COOKIE]
    ends = signed_in_at + sessions.SESSION_LIFETIME
    # Refreshed, live or expired, every few hours: each new session still ends by the lifetime's end.
    while api.clock[0] + sessions.SESSION_TTL < ends:
        api.clock[0] += sessions.SESSION_TTL - 60
        refreshed = api.call("POST", "/api/auth/refresh", session=session)
        assert refreshed["statusCode"] == 200, refreshed["body"]
        assert body(refreshed)["lifetime_ends_at"] == ends and body(refreshed)["expires_at"] <= ends
        session = cookie_values(refreshed)[names.SESSION_COOKIE]
    api.clock[0] = ends - 1
    last = api.call("POST", "/api/auth/refresh", session=session)
    assert last["statusCode"] == 200 and body(last)["expires_at"] == ends
    session = cookie_values(last)[names.SESSION_COOKIE]
    api.clock[0] = ends
    assert api.call("GET", "/api/user/fetchinfo", session=session)["statusCode"] == 401
    over = api.call("POST", "/api/auth/refresh", session=session)
    assert over["statusCode"] == 401 and body(over)["error"]["code"] == "unauthenticated"
    # Signing in again starts a new lifetime.
    fresh = cookie_values(sign_in(api))[names.SESSION_COOKIE]
    assert api.call("GET", "/api/user/fetchinfo", session=fresh)["statusCode"] == 200


def test_refresh_of_a_live_session_needs_no_github(api: Api) -> None:
    _, session = api.add_user()
    api.github.down = True
    response = api.call("POST", "/api/auth/refresh", session=session)
    assert response["statusCode"] == 200
    assert names.SESSION_COOKIE in cookie_values(response)


def test_refresh_without_a_stored_github_token_asks_to_sign_in(api: Api) -> None:
    _, session = api.add_user()
    api.clock[0] += sessions.SESSION_TTL + 5
    assert api.call("POST", "/api/auth/refresh", session=session)["statusCode"] == 401
    assert api.call("POST", "/api/auth/refresh")["statusCode"] == 401


def test_logout_revokes_every_session_even_an_expired_one(api: Api) -> None:
    session = cookie_values(sign_in(api))[names.SESSION_COOKIE]
    stolen = session
    api.clock[0] += sessions.SESSION_TTL + 5  # expired: logout still works (reference defect 52)
    response = api.call("POST", "/api/auth/logout", session=session)
    assert response["statusCode"] == 200
    assert cookie_values(response)[names.SESSION_COOKIE] == ""
    assert all("Max-Age=0" in c for c in response["cookies"])
    user = api.store.users.get(id="1001")
    assert user is not None and user.github_refresh_token is None
    api.clock[0] -= sessions.SESSION_TTL + 5
    assert api.call("GET", "/api/user/fetchinfo", session=stolen)["statusCode"] == 401
    assert api.call("POST", "/api/auth/refresh", session=stolen)["statusCode"] == 401


def test_logout_without_a_session_still_clears_the_cookies(api: Api) -> None:
    response = api.call("POST", "/api/auth/logout", cookies={names.SESSION_COOKIE: "garbage"})
    assert response["statusCode"] == 200 and len(response["cookies"]) == 2


def test_state_changing_calls_need_the_dashboard_origin_and_the_cdn_secret(api: Api) -> None:
    user, session = api.add_user()
    cross_site = api.call("POST", "/api/auth/logout", session=session, origin="https://evil.ship.example.com")
    assert cross_site["statusCode"] == 403 and body(cross_site)["error"]["code"] == "bad_origin"
    assert api.call("POST", "/api/auth/logout", session=session, origin=None)["statusCode"] == 403
    direct = api.call("GET", "/api/user/fetchinfo", session=session, origin_secret="guess")
    assert direct["statusCode"] == 403
    stored = api.store.users.get(id=user.id)
    assert stored is not None and stored.session_version == user.session_version


def test_a_forged_or_foreign_session_is_refused(api: Api) -> None:
    user, _ = api.add_user()
    forged = sessions.issue_session(b"not-the-key", domain=DOMAIN, user_id=user.id, version=1)
    other_site = sessions.issue_session(
        api.session_key(), domain="other.example", user_id=user.id, version=1
    )
    for token in (forged, other_site, "not-a-jwt"):
        assert api.call("GET", "/api/user/fetchinfo", session=token)["statusCode"] == 401
