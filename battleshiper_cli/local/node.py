"""The local `Invoker`: each project function is its built handler (`index.mjs`) running in a long-lived
Node.js process (`node_worker.mjs`), one invocation at a time like one Lambda instance. Used by the tests
and the local platform; it behaves like Lambda where the router can tell: unknown function, handler
error, timeout and the 6 MB response limit."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from lambdas.router import invoker as inv
from lambdas.shared.names import SERVER_HANDLER_FILE

WORKER = Path(__file__).with_name("node_worker.mjs")


def extract_handler(archive: Path, destination: Path) -> Path:
    """Unpacks a function zip (the adapter's `server/handler.zip`) and returns its handler module."""
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(destination)
    module = destination / SERVER_HANDLER_FILE
    if not module.is_file():
        raise FileNotFoundError(f"{archive} has no {SERVER_HANDLER_FILE}")
    return module


class _Worker:
    def __init__(self, module: Path, name: str, stderr: IO[Any] | None,
                 env: Mapping[str, str] | None = None) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("Node.js is needed to run project functions locally")
        self.process = subprocess.Popen(
            [node, str(WORKER), str(module), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **env} if env else None,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(b"")  # the process ended

    def call(self, payload: bytes, timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.next_id += 1
        # The event is already JSON: splice it in rather than parse and re-encode it.
        self.process.stdin.write(b'{"id":%d,"event":' % self.next_id + payload + b"}\n")
        self.process.stdin.flush()
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise inv.FunctionTimedOut(f"no answer within {timeout} s") from None
            if not line:
                raise inv.FunctionFailed(f"worker exited with {self.process.wait()}")
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == self.next_id:
                return message

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class NodeInvoker:
    """`functions` maps a function name to its handler module; the qualifier is not distinguished
    (locally each function has one live version). `env` is added to every function's environment, as
    the template's `Environment` would be."""

    def __init__(self, functions: Mapping[str, Path], timeout: float = 30.0,
                 stderr: IO[Any] | None = None, env: Mapping[str, str] | None = None,
                 env_for: Callable[[str], Mapping[str, str]] | None = None) -> None:
        """`env_for(function)`: more environment for each new worker (its own credentials)."""
        self.functions = dict(functions)
        self.env = dict(env or {})
        self.env_for = env_for
        self.timeout = timeout
        self._stderr = stderr
        self._workers: dict[str, _Worker] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        module = self.functions.get(function)
        if module is None:
            raise inv.FunctionNotFound(function)
        if len(payload) > inv.PAYLOAD_LIMIT:
            raise inv.RequestTooLarge(f"{len(payload)} bytes")
        with self._guard:
            lock = self._locks.setdefault(function, threading.Lock())
        with lock:
            worker = self._workers.get(function)
            if worker is None or worker.process.poll() is not None:
                env = {**self.env, **(self.env_for(function) if self.env_for else {})}
                worker = self._workers[function] = _Worker(module, function, self._stderr, env)
            try:
                message = worker.call(payload, self.timeout)
            except inv.InvokeError:
                # A timed-out or crashed instance is not reused, as Lambda would not.
                worker.stop()
                del self._workers[function]
                raise
        if "error" in message:
            error = message["error"] or {}
            raise inv.FunctionFailed(f"{error.get('type')}: {error.get('message')}"[:500])
        body = json.dumps(message.get("result"), separators=(",", ":")).encode()
        if len(body) > inv.PAYLOAD_LIMIT:
            raise inv.ResponseTooLarge(f"{len(body)} bytes")
        return body

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers.clear()
