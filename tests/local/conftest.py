"""One local platform for the whole session, started the way a user starts it (`battleshiper local up`,
without the sample project: the tests create their own from a local repository)."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from battleshiper_cli.local.aws import free_port
from battleshiper_cli.local.control import up_command


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def cookies(self) -> list[str]:
        return self.headers.get_all("set-cookie") or []


@dataclass
class Local:
    port: int
    data_dir: Path

    def request(
        self,
        host: str,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        """One request to the local edge as a browser at http://<host>:<port> sends it (no redirects)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                method, path, body=body, headers={"host": f"{host}:{self.port}", **(headers or {})}
            )
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are required for the local platform")
    data_dir = tmp_path_factory.mktemp("local")
    port = free_port()
    log = (data_dir / "up.log").open("wb")
    process = subprocess.Popen(
        up_command(port, data_dir, sample=False),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 60
    while not (data_dir / "local.ready").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local up did not start:\n{(data_dir / 'up.log').read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield Local(port, data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
