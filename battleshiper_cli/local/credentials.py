"""The container credentials endpoint of the local build jobs, in place of the ECS agent's: each job's
runner gets a URI and an authorization token in its environment (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
`AWS_CONTAINER_AUTHORIZATION_TOKEN`) and fetches its credentials there, as a Fargate job does, instead of
static keys. Whoever knows a job's URI and token gets its credentials, as on Fargate: the runner keeps
them from the user's commands (`lambdas/pipeline/build.mjs`), and a finished job's entry goes."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH_PREFIX = "/v2/credentials/"


class CredentialsEndpoint:
    def __init__(self, access_key: str, secret_key: str) -> None:
        self._body = json.dumps(
            {
                "AccessKeyId": access_key,
                "SecretAccessKey": secret_key,
                "Token": "",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()
        self._jobs: dict[str, str] = {}  # path id -> authorization token
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def _start(self) -> ThreadingHTTPServer:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                job = self.path.removeprefix(PATH_PREFIX) if self.path.startswith(PATH_PREFIX) else ""
                with endpoint._lock:
                    token = endpoint._jobs.get(job)
                known = token is not None and secrets.compare_digest(
                    self.headers.get("authorization", ""), token
                )
                body = endpoint._body if known else b"{}"
                self.send_response(200 if known else 403)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, name="job-credentials", daemon=True).start()
        return server

    def register(self) -> tuple[str, dict[str, str]]:
        """A new job's id and the variables its container gets."""
        with self._lock:
            if self._server is None:
                self._server = self._start()
            job, token = secrets.token_hex(16), secrets.token_urlsafe(24)
            self._jobs[job] = token
            port = self._server.server_address[1]
        return job, {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{port}{PATH_PREFIX}{job}",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
        }

    def revoke(self, job: str) -> None:
        with self._lock:
            self._jobs.pop(job, None)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
