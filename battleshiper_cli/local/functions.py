"""Project server functions, run locally. The deploy function updates the code of `<stack>-srv-<project>`
in moto's Lambda control plane and moves its aliases; the router invokes a deployment's alias. This invoker
resolves the alias to its version in moto on every call, fetches that version's code zip once and runs it
in a long-lived Node.js worker (`battleshiper_cli.local.node.NodeInvoker`), one per published version: a
deploy or a rollback takes effect on the next request, as in AWS. A function's reserved concurrency (set by
the deploy) bounds its invocations in flight: one more is throttled, as Lambda throttles it."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import IO, Any

from moto.awslambda.models import lambda_backends
from moto.awslambda_simple.models import lambda_simple_backends

from battleshiper_cli.local.aws import ACCOUNT, REGION
from battleshiper_cli.local.function_kms import FunctionKms
from battleshiper_cli.local.node import NodeInvoker
from lambdas.router import invoker as inv
from lambdas.shared.names import SERVER_HANDLER_FILE


def function_code(function: str, version: str) -> bytes:
    """The code zip moto keeps for one version. Read from moto's backend in this process: moto's
    `Code.Location` is an AWS address it does not serve."""
    # With `use_docker: False` moto keeps functions in its "simple" Lambda backend.
    for backends in (lambda_simple_backends, lambda_backends):
        try:
            return bytes(backends[ACCOUNT][REGION].get_function(function, version).code_bytes)
        except Exception:  # moto's own not-found error: try the other backend
            continue
    raise FileNotFoundError(f"no code for {function}:{version} in moto")


class ProjectFunctions:
    def __init__(
        self, lambda_client: Any, folder: Path, stderr: IO[Any] | None = None, timeout: float = 30.0,
        env: dict[str, str] | None = None, kms: FunctionKms | None = None,
    ) -> None:
        """`env`: what Lambda gives every function (its region); `kms`: each worker's own credentials
        for the KMS call that opens the function's sealed configuration (web/adapter/files/config.js)."""
        self._lambda = lambda_client
        self._folder = folder
        env_for = (lambda key: kms.credentials(key.split(":", 1)[0])) if kms else None
        self._nodes = NodeInvoker({}, timeout=timeout, stderr=stderr, env=env, env_for=env_for)
        self._guard = threading.Lock()
        self._reserved: dict[str, int | None] = {}  # per version: read when the version first runs
        self._running: dict[str, int] = {}

    def _module(self, function: str, version: str) -> Path:
        folder = self._folder / function / version
        module = folder / SERVER_HANDLER_FILE
        if not module.is_file():
            with zipfile.ZipFile(io.BytesIO(function_code(function, version))) as archive:
                archive.extractall(folder)
        return module

    def invoke(self, function: str, qualifier: str, payload: bytes) -> bytes:
        try:
            version = str(self._lambda.get_alias(FunctionName=function, Name=qualifier)["FunctionVersion"])
        except self._lambda.exceptions.ResourceNotFoundException as err:
            try:  # as LambdaInvoker tells them apart
                self._lambda.list_aliases(FunctionName=function, MaxItems=1)
            except self._lambda.exceptions.ResourceNotFoundException:
                raise inv.FunctionNotFound(function) from err
            raise inv.DeploymentNotFound(f"{function}:{qualifier}") from err
        key = f"{function}:{version}"
        with self._guard:
            if key not in self._nodes.functions:
                try:
                    self._nodes.functions[key] = self._module(function, version)
                except (KeyError, ValueError, zipfile.BadZipFile, FileNotFoundError) as err:
                    raise inv.FunctionFailed(f"{key}: no runnable code ({err})") from err
                self._retire(function, keep=key)
                self._reserved[key] = self._reservation(function)
            limit, running = self._reserved.get(key), self._running.get(function, 0)
            if limit is not None and running >= limit:
                raise inv.Throttled("TooManyRequestsException: Rate Exceeded.")
            self._running[function] = running + 1
        try:
            return self._nodes.invoke(key, qualifier, payload)
        finally:
            with self._guard:
                self._running[function] -= 1

    def _reservation(self, function: str) -> int | None:
        answer = self._lambda.get_function_concurrency(FunctionName=function)
        value = answer.get("ReservedConcurrentExecutions")
        return int(value) if value is not None else None

    def _retire(self, function: str, keep: str) -> None:
        """Stop the workers of the function's other versions (a rollback starts the old one again)."""
        for key in [k for k in self._nodes._workers if k.startswith(f"{function}:") and k != keep]:
            self._nodes._workers.pop(key).stop()

    def close(self) -> None:
        self._nodes.close()
