"""A small GitHub client: OAuth (code + PKCE exchange, refresh), the signed-in user and what that user
can access (installations, repositories), the GitHub App's installation tokens, and public profiles.

Both base URLs come from the environment (`Env.GITHUB_URL`, `Env.GITHUB_API_URL`), so tests and the
local platform talk to a stand-in server. Standard library HTTP only: the functions ship lean.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from lambdas.shared.names import Env
from lambdas.shared.secrets import Secrets

DEFAULT_URL = "https://github.com"
DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 10
USER_AGENT = "battleshiper"
PAGE_SIZE = 100
# GitHub accepts App JWTs for at most 10 minutes; `iat` is back-dated for clock skew (defect 23).
APP_JWT_TTL = 540
CLOCK_SKEW = 60


class GitHubError(Exception):
    """GitHub refused or could not be reached. `status` is GitHub's (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int | None


@dataclass(frozen=True)
class GitHubUser:
    id: int
    login: str
    name: str
    avatar_url: str


@dataclass(frozen=True)
class Installation:
    id: int
    account_id: int
    account_login: str


@dataclass(frozen=True)
class RepositoryInfo:
    id: int
    name: str
    full_name: str
    private: bool
    default_branch: str


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str
    app_id: str
    private_key: str  # PEM

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> AppCredentials:
        """The operator's GitHub secret (`names.GITHUB_SECRET_KEYS`); `app_secret` is the App's PEM key."""
        return cls(
            str(secret["client_id"]), str(secret["client_secret"]), str(secret["app_id"]),
            str(secret["app_secret"]),
        )


class GitHub:
    def __init__(
        self,
        credentials: AppCredentials,
        *,
        url: str = DEFAULT_URL,
        api_url: str = DEFAULT_API_URL,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.url = url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.now = now

    @classmethod
    def from_env(cls, credentials: AppCredentials, env: Mapping[str, str]) -> GitHub:
        return cls(
            credentials,
            url=env.get(Env.GITHUB_URL) or DEFAULT_URL,
            api_url=env.get(Env.GITHUB_API_URL) or DEFAULT_API_URL,
        )

    # --- transport ---------------------------------------------------------------------------------

    def _call(
        self, method: str, url: str, *, token: str | None = None, body: Mapping[str, Any] | None = None
    ) -> Any:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raise GitHubError(f"GitHub answered {err.code} to {method} {urllib.parse.urlsplit(url).path}",
                              err.code) from err
        except (urllib.error.URLError, TimeoutError, ValueError) as err:
            raise GitHubError(f"GitHub is not reachable: {type(err).__name__}") from err

    def _listing(self, path: str, key: str, token: str | None, *, pages: int) -> Iterator[dict[str, Any]]:
        """The items of a paginated list (`key` in each answer), 100 a page, at most `pages` pages."""
        for page in range(1, pages + 1):
            url = f"{self.api_url}{path}?per_page={PAGE_SIZE}&page={page}"
            batch = self._call("GET", url, token=token).get(key, [])
            yield from batch
            if len(batch) < PAGE_SIZE:
                return

    # --- OAuth (user-to-server) --------------------------------------------------------------------

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = urllib.parse.urlencode(
            {
                "client_id": self.credentials.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "allow_signup": "false",
            }
        )
        return f"{self.url}/login/oauth/authorize?{query}"

    def _token(self, fields: Mapping[str, str]) -> OAuthTokens:
        body = {"client_id": self.credentials.client_id, "client_secret": self.credentials.client_secret,
                **fields}
        answer = self._call("POST", f"{self.url}/login/oauth/access_token", body=body)
        # GitHub reports OAuth errors with 200 and an `error` field.
        if not isinstance(answer, dict) or "error" in answer or not answer.get("access_token"):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise GitHubError(f"GitHub refused the token request: {error or 'no token'}", 400)
        expires = answer.get("expires_in")
        return OAuthTokens(
            str(answer["access_token"]),
            str(answer["refresh_token"]) if answer.get("refresh_token") else None,
            int(expires) if expires is not None else None,
        )

    def exchange_code(self, code: str, *, redirect_uri: str, verifier: str) -> OAuthTokens:
        return self._token({"code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})

    def refresh(self, refresh_token: str) -> OAuthTokens:
        """GitHub refresh tokens are single use: store the one returned (reference defect 46)."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def user(self, access_token: str) -> GitHubUser:
        answer = self._call("GET", f"{self.api_url}/user", token=access_token)
        return GitHubUser(
            int(answer["id"]), str(answer["login"]), str(answer.get("name") or ""),
            str(answer.get("avatar_url") or ""),
        )

    def user_installations(self, access_token: str) -> list[Installation]:
        """Installations of this App the user can access."""
        return [
            Installation(int(i["id"]), int(i["account"]["id"]), str(i["account"]["login"]))
            for i in self._listing("/user/installations", "installations", access_token, pages=10)
        ]

    def user_repositories(self, access_token: str, installation_id: int) -> list[RepositoryInfo]:
        """Repositories of the installation the user can access (never the installation's own list,
        which covers every repository of an organisation). GitHub answers 404 when the user cannot
        access the installation at all."""
        path = f"/user/installations/{int(installation_id)}/repositories"
        return [_repository(r) for r in self._listing(path, "repositories", access_token, pages=30)]

    # --- App (server-to-server) --------------------------------------------------------------------

    def app_jwt(self) -> str:
        issued = int(self.now()) - CLOCK_SKEW
        claims = {"iat": issued, "exp": issued + CLOCK_SKEW + APP_JWT_TTL, "iss": self.credentials.app_id}
        return jwt.encode(claims, self.credentials.private_key, algorithm="RS256")

    def installation_token(
        self,
        installation_id: int,
        *,
        permissions: Mapping[str, str],
        repository_ids: list[int] | None = None,
    ) -> str:
        body: dict[str, Any] = {"permissions": dict(permissions)}
        if repository_ids is not None:
            body["repository_ids"] = repository_ids
        answer = self._call(
            "POST",
            f"{self.api_url}/app/installations/{int(installation_id)}/access_tokens",
            token=self.app_jwt(),
            body=body,
        )
        return str(answer["token"])

    def repository_token(self, installation_id: int, repository_id: int) -> str:
        """A token that can read one repository's contents, nothing else (defect 2)."""
        return self.installation_token(
            installation_id, permissions={"contents": "read"}, repository_ids=[repository_id]
        )

    # --- public ------------------------------------------------------------------------------------

    def public_user(self, login: str) -> GitHubUser:
        """A public profile by login (`GET /users/{login}`): the setup resolves the admin's id with it."""
        answer = self._call("GET", f"{self.api_url}/users/{urllib.parse.quote(login, safe='')}")
        return GitHubUser(
            int(answer["id"]), str(answer["login"]), str(answer.get("name") or ""),
            str(answer.get("avatar_url") or ""),
        )


def _repository(r: Mapping[str, Any]) -> RepositoryInfo:
    return RepositoryInfo(
        int(r["id"]), str(r["name"]), str(r["full_name"]), bool(r.get("private", False)),
        str(r.get("default_branch") or "main"),
    )


def from_environment(env: Mapping[str, str], secrets: Secrets) -> GitHub:
    """The App's client from the operator's GitHub secret (read once per container)."""
    return GitHub.from_env(AppCredentials.from_secret(secrets.json(env[Env.GITHUB_SECRET_ARN])), env)


def public_user(login: str, *, api_url: str = DEFAULT_API_URL) -> GitHubUser:
    """A public profile, without any credentials (the CLI's setup)."""
    return GitHub(AppCredentials("", "", "", ""), api_url=api_url).public_user(login)
