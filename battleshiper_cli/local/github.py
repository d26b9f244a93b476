"""A real local HTTP stand-in for the parts of GitHub the platform uses (http.server on 127.0.0.1, a
thread per request). Tests and the local platform point the platform's GitHub client at
`GitHubStandIn.url`. `battleshiper_cli.local.git_host.LocalGitHub` adds what the local platform
needs: bare git repositories in a folder (cloned over `file://`), and a signed `push` webhook per push.

It checks what GitHub checks: client credentials, single-use codes bound to the redirect URI and the
PKCE challenge, single-use rotating refresh tokens, RS256 App JWTs (issuer, `iat`/`exp`), and
installation tokens limited to the repositories and permissions they were minted for. An installation
on an organisation has members, each with access to some of its repositories: a user's token lists
only the installations and repositories that user can access, as GitHub's do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class Account:
    id: int
    login: str
    name: str = ""
    avatar_url: str = ""


@dataclass
class Repo:
    id: int
    name: str
    owner: str
    private: bool = False
    default_branch: str = "main"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "full_name": self.full_name,
            "private": self.private,
            "default_branch": self.default_branch,
        }


@dataclass
class AppInstallation:
    id: int
    account: Account
    repositories: list[Repo] = field(default_factory=list)
    # Organisation members: user id -> ids of the repositories they have access to. The account an
    # installation is on (a user's own) accesses every repository of it.
    members: dict[int, set[int]] = field(default_factory=dict)

    def accessible(self, user_id: int) -> list[Repo] | None:
        """The repositories `user_id` can access; None when the user cannot see the installation."""
        if user_id == self.account.id:
            return list(self.repositories)
        if user_id not in self.members:
            return None
        return [r for r in self.repositories if r.id in self.members[user_id]]


@dataclass
class IssuedToken:
    installation_id: int
    repository_ids: list[int] | None
    permissions: dict[str, str]


def generate_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class GitHubStandIn:
    def __init__(
        self,
        *,
        client_id: str = "Iv1.standin",
        client_secret: str = "standin-secret",
        app_id: str = "12345",
        private_key: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_id = app_id
        self.private_key = private_key or generate_private_key()
        self.public_key = serialization.load_pem_private_key(self.private_key.encode(), None).public_key()
        self.lock = threading.Lock()
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reset(self) -> None:
        self.accounts: dict[int, Account] = {}
        self.installations: dict[int, AppInstallation] = {}
        self.signed_in: Account | None = None  # who "is logged in" at the authorize page
        self.codes: dict[str, tuple[int, str, str]] = {}  # code -> (account, redirect_uri, challenge)
        self.access_tokens: dict[str, int] = {}
        self.refresh_tokens: dict[str, int] = {}
        self.installation_tokens: dict[str, IssuedToken] = {}
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, json body)
        self.down = False  # answer 503 to everything

    # --- set-up --------------------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def secret(self) -> dict[str, str]:
        """The operator's GitHub secret for this App."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "app_id": self.app_id,
            "app_secret": self.private_key,
            "webhook_secret": "standin-webhook",
        }

    def add_account(self, id: int, login: str, **kw: Any) -> Account:
        self.accounts[id] = Account(id, login, **kw)
        return self.accounts[id]

    def install(self, installation_id: int, account: Account, repositories: list[Repo]) -> AppInstallation:
        self.installations[installation_id] = AppInstallation(installation_id, account, repositories)
        return self.installations[installation_id]

    def grant_access(self, installation_id: int, user: Account, repository_ids: list[int]) -> None:
        """Make `user` a member of the installation's organisation with access to these repositories
        (an empty list: a member who sees the installation but none of its repositories)."""
        self.installations[installation_id].members[user.id] = set(repository_ids)

    def revoke_access(self, installation_id: int, user: Account, repository_id: int) -> None:
        self.installations[installation_id].members.get(user.id, set()).discard(repository_id)

    def sign_in(self, account_id: int) -> dict[str, Any]:
        """A user access token and refresh token for the account, as the OAuth flow grants them."""
        with self.lock:
            return self._grant(account_id)

    def issue_refresh_token(self, account_id: int) -> str:
        token = "ghr_" + secrets.token_hex(16)
        self.refresh_tokens[token] = account_id
        return token

    # --- the protocol ----------------------------------------------------------------------------

    def _grant(self, account_id: int) -> dict[str, Any]:
        access = "ghu_" + secrets.token_hex(16)
        self.access_tokens[access] = account_id
        return {
            "access_token": access,
            "token_type": "bearer",
            "scope": "",
            "expires_in": 28800,
            "refresh_token": self.issue_refresh_token(account_id),
            "refresh_token_expires_in": 15897600,
        }

    def _token_endpoint(self, body: dict[str, Any]) -> tuple[int, Any]:
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return 200, {"error": "incorrect_client_credentials"}
        with self.lock:
            if body.get("grant_type") == "refresh_token":
                account = self.refresh_tokens.pop(str(body.get("refresh_token")), None)  # single use
                if account is None:
                    return 200, {"error": "bad_refresh_token"}
                return 200, self._grant(account)
            found = self.codes.pop(str(body.get("code")), None)  # single use
            if found is None:
                return 200, {"error": "bad_verification_code"}
            account, redirect_uri, challenge = found
            if body.get("redirect_uri") != redirect_uri:
                return 200, {"error": "redirect_uri_mismatch"}
            verifier = str(body.get("code_verifier", ""))
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not challenge or computed != challenge:
                return 200, {
                    "error": "bad_verification_code",
                    "error_description": "PKCE verification failed",
                }
            return 200, self._grant(account)

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        if query.get("client_id") != self.client_id or self.signed_in is None:
            return 404, {}
        code = secrets.token_hex(10)
        self.codes[code] = (self.signed_in.id, query["redirect_uri"], query.get("code_challenge", ""))
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": f"{self.viewer_url(query['redirect_uri'])}?{params}"}

    def viewer_url(self, url: str) -> str:
        """Where the browser is sent for `url` (the local platform serves plain HTTP on its own port)."""
        return url

    def _app(self, authorization: str) -> bool:
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                token,
                self.public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return False
        now = time.time()
        return (
            str(claims["iss"]) == self.app_id
            and claims["iat"] <= now
            and claims["exp"] - claims["iat"] <= 660
        )

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        url = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append((method, url.path, body))
        if self.down:
            return 503, {"message": "unavailable"}, {}
        authorization = headers.get("authorization", "")
        bearer = authorization.split(" ", 1)[1] if " " in authorization else ""
        if method == "GET" and url.path == "/login/oauth/authorize":
            status, extra = self._authorize(query)
            return status, None, extra
        if method == "POST" and url.path == "/login/oauth/access_token":
            status, answer = self._token_endpoint(body if isinstance(body, dict) else {})
            return status, answer, {}
        if method == "GET" and url.path == "/user":
            account = self.accounts.get(self.access_tokens.get(bearer, -1))
            if account is None:
                return 401, {"message": "Bad credentials"}, {}
            return (
                200,
                {
                    "id": account.id,
                    "login": account.login,
                    "name": account.name,
                    "avatar_url": account.avatar_url,
                },
                {},
            )
        if method == "GET" and url.path.startswith("/user/installations"):
            return self._user_installations(url.path, bearer, query)
        if method == "GET" and url.path.startswith("/users/"):
            login = urllib.parse.unquote(url.path.removeprefix("/users/"))
            found = next((a for a in self.accounts.values() if a.login.casefold() == login.casefold()), None)
            if found is None:
                return 404, {"message": "Not Found"}, {}
            return 200, {"id": found.id, "login": found.login, "name": found.name,
                         "avatar_url": found.avatar_url}, {}
        parts = url.path.strip("/").split("/")
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["app", "installations"]
            and parts[3] == "access_tokens"
        ):
            if not self._app(authorization):
                return 401, {"message": "A JSON web token could not be decoded"}, {}
            installation = self.installations.get(int(parts[2])) if parts[2].isdigit() else None
            if installation is None:
                return 404, {"message": "Not Found"}, {}
            body = body if isinstance(body, dict) else {}
            ids = body.get("repository_ids")
            if ids is not None and not set(ids) <= {r.id for r in installation.repositories}:
                return 422, {"message": "There is at least one repository that does not exist"}, {}
            token = "ghs_" + secrets.token_hex(16)
            self.installation_tokens[token] = IssuedToken(
                installation.id, ids, dict(body.get("permissions", {}))
            )
            return (
                201,
                {
                    "token": token,
                    "expires_at": "2099-01-01T00:00:00Z",
                    "permissions": body.get("permissions", {}),
                    "repository_selection": "selected" if ids else "all",
                },
                {},
            )
        if method == "GET" and url.path == "/installation/repositories":
            issued = self.installation_tokens.get(bearer)
            if issued is None:
                return 401, {"message": "Bad credentials"}, {}
            repos = [
                r
                for r in self.installations[issued.installation_id].repositories
                if issued.repository_ids is None or r.id in issued.repository_ids
            ]
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = repos[(page - 1) * per_page : page * per_page]
            return 200, {"total_count": len(repos), "repositories": [r.json() for r in chunk]}, {}
        return 404, {"message": "Not Found"}, {}

    def _user_installations(
        self, path: str, bearer: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """`/user/installations` and `/user/installations/{id}/repositories`, with a user's token."""
        account_id = self.access_tokens.get(bearer)
        if account_id is None:
            return 401, {"message": "Bad credentials"}, {}
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            mine = [i for i in self.installations.values() if i.accessible(account_id) is not None]
            return 200, {
                "total_count": len(mine),
                "installations": [
                    {"id": i.id, "account": {"id": i.account.id, "login": i.account.login}} for i in mine
                ],
            }, {}
        installation = self.installations.get(int(parts[2])) if parts[2].isdigit() else None
        repos = installation.accessible(account_id) if installation else None
        if len(parts) != 4 or parts[3] != "repositories" or repos is None:
            return 404, {"message": "Not Found"}, {}
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        chunk = repos[(page - 1) * per_page : page * per_page]
        return 200, {"total_count": len(repos), "repositories": [r.json() for r in chunk]}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body: Any = None
                if raw:
                    if "json" in (self.headers.get("content-type") or ""):
                        body = json.loads(raw)
                    else:
                        body = dict(urllib.parse.parse_qsl(raw.decode()))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra = stand_in.handle(self.command, self.path, headers, body)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        return Handler
