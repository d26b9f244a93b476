"""The running local platform as other processes see it: its process (started, found, stopped by
`battleshiper local up|down|status`) and how operator commands reach it (`battleshiper --local ...`).

Most AWS state of the local platform lives in moto, which any process reaches at its endpoint. Three
services do not: project stacks and the platform stack record (`LocalStacks`), event delivery (`LocalBus`)
and the route store (in memory, synced to the edge functions). The platform serves exactly the AWS
operations the CLI makes on those on a loopback control endpoint, with the AWS request and answer
shapes; `RemoteClient` is a stand-in boto3 client for them. So the CLI keeps its one code path (StackOps,
`events.send_delete`, `AwsRouteStore`, ...), and the commands act through the platform's own objects.

This module is imported by the CLI on every `--local` command: stdlib and botocore only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from battleshiper_cli.errors import BattleshiperError
from lambdas.shared.aws import Clients

DEFAULT_DATA_DIR = Path(".battleshiper/local")
STATE_FILE = "local.json"  # written by the running platform, removed when it stops
READY_FILE = "local.ready"  # what `local up` printed once the platform (and sample) was ready
LOG_FILE = "local.log"  # the output of a detached `local up`
START_SECONDS = 1200  # a detached start waits this long for the sample's first build
STOP_SECONDS = 30
REGION = "us-east-1"  # moto's region for the local platform (battleshiper_cli.local.aws.REGION)
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

# The only operations the control endpoint answers, per service (what the operator commands call).
OPERATIONS: dict[str, frozenset[str]] = {
    "cloudformation": frozenset({"describe_stacks", "describe_stack_events", "get_template"}),
    "events": frozenset({"put_events"}),
    "cloudfront": frozenset({"describe_key_value_store"}),
    "cloudfront-keyvaluestore": frozenset({"describe_key_value_store", "get_key", "update_keys"}),
}


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --- the CLI side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalTarget:
    """A running local platform, as its state file describes it."""

    data_dir: Path
    moto: str
    control: str
    stack: str
    url: str
    port: int
    pid: int
    github_url: str
    github_api_url: str

    @classmethod
    def load(cls, data_dir: Path) -> LocalTarget:
        try:
            state = json.loads((data_dir / STATE_FILE).read_text())
            target = cls(
                data_dir=data_dir,
                moto=str(state["moto"]),
                control=str(state["control"]),
                stack=str(state["stack"]),
                url=str(state["url"]),
                port=int(state["port"]),
                pid=int(state["pid"]),
                github_url=str(state["github_url"]),
                github_api_url=str(state["github_api_url"]),
            )
        except (OSError, ValueError, KeyError) as err:
            raise BattleshiperError(
                f"no local platform is running with the data folder {data_dir}",
                hint="start it with `battleshiper local up` (or pass the --local-dir it uses)",
            ) from err
        return target

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=REGION, **CREDENTIALS)

    def clients(self) -> Clients:
        """The operator's factory against the running platform: moto, and the control endpoint for
        what the platform holds in memory (stacks, the bus, the route store)."""
        return _TargetClients(self.session(), self.moto, self.control)


class _TargetClients(Clients):
    def __init__(self, session: boto3.session.Session, moto: str, control: str) -> None:
        super().__init__(session, moto)
        self.control = control

    def client(self, service: str, region: str | None = None, config: Any = None) -> Any:
        if service in OPERATIONS:
            return RemoteClient(self.control, service)
        return super().client(service, region, config)


class RemoteClient:
    """Calls `operation(**kwargs)` of one service on the control endpoint; errors come back as the
    ClientError boto3 would raise."""

    def __init__(self, endpoint: str, service: str) -> None:
        self._endpoint = endpoint
        self._service = service

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation not in OPERATIONS[self._service]:
            raise AttributeError(f"the local platform does not serve {self._service}.{operation}")

        def call(**kwargs: Any) -> Any:
            request = urllib.request.Request(
                f"{self._endpoint}/{self._service}/{operation}",
                data=json.dumps(kwargs).encode(),
                method="POST",
                headers={"content-type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as err:
                answer = json.loads(err.read() or b"{}")
                raise ClientError({"Error": answer.get("Error", {})}, operation) from None
            except OSError as err:
                raise BattleshiperError(
                    f"the local platform does not answer at {self._endpoint}: {err}",
                    hint="`battleshiper local status` shows whether it runs",
                ) from None

        return call


# --- the process ---------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running(data_dir: Path) -> LocalTarget | None:
    """The platform running with this data folder, if its process is alive (a crash leaves the file)."""
    try:
        target = LocalTarget.load(data_dir)
    except BattleshiperError:
        return None
    return target if alive(target.pid) else None


def up_command(port: int, data_dir: Path, *, sample: bool) -> list[str]:
    """`battleshiper local up` as a command line for a process of its own (--detach, tests)."""
    return [
        sys.executable, "-c", "from battleshiper_cli.main import main; main()",
        "local", "up", "--port", str(port), "--data-dir", str(data_dir),
        "--sample" if sample else "--no-sample",
    ]


def start_detached(port: int, data_dir: Path, *, sample: bool) -> str:
    """Start `local up` in a session of its own; what it printed once ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ready = data_dir / READY_FILE
    with (data_dir / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            up_command(port, data_dir, sample=sample),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if ready.exists():
            return ready.read_text().strip()
        time.sleep(0.5)
    raise BattleshiperError(f"the local platform did not start; see {data_dir / LOG_FILE}")


def serve(port: int, data_dir: Path, *, sample: bool, say: Callable[[str], None]) -> None:
    """Run the platform in this process until SIGTERM or Ctrl-C, with the ready file while it serves."""
    # Here, not at the top: moto and the stand-ins load only in the process that runs the platform.
    from battleshiper_cli.local.errors import LocalError
    from battleshiper_cli.local.platform import LocalPlatform

    platform = LocalPlatform(port, data_dir, log=lambda line: print(line, flush=True))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    ready = data_dir / READY_FILE
    ready.unlink(missing_ok=True)
    try:
        platform.start()
        lines = [f"Dashboard: {platform.url}"]
        say(lines[0])
        if sample:
            lines.append(f"Sample project: {platform.create_sample()}")
            say(lines[-1])
        ready.write_text("\n".join(lines) + "\n")
        say("Ctrl-C (or `battleshiper local down`) stops it.")
        platform.wait(stopping)
    except LocalError as err:
        raise BattleshiperError(str(err)) from err
    except KeyboardInterrupt:
        pass
    finally:
        platform.stop()
        ready.unlink(missing_ok=True)


def stop(target: LocalTarget) -> bool:
    """SIGTERM to the platform's process (it stops what it started); whether it ended in time."""
    os.kill(target.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while alive(target.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not alive(target.pid)


def answering(target: LocalTarget) -> bool:
    """Whether the edge answers (a 401 without a session counts: the API is up)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{target.port}/api/user/fetchinfo", headers={"host": "localhost"}
    )
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


# --- the platform side ----------------------------------------------------------------------------


class RouteStoreApi:
    """The route store as the CloudFront KeyValueStore APIs present it: `cloudfront` (control plane,
    found by name) and `cloudfront-keyvaluestore` (data plane, by ARN; writes need the current ETag)."""

    def __init__(self, store: Any, name: str, arn: str) -> None:
        self.store = store  # a RouteStore: get / etag / write (raises RouteStoreConflict on a stale ETag)
        self.name = name
        self.arn = arn
        self.id = arn.rsplit("/", 1)[-1]

    def control_plane(self) -> object:
        api = self

        class ControlPlane:
            def describe_key_value_store(self, Name: str) -> dict[str, Any]:
                if Name != api.name:
                    raise _error("EntityNotFound", f"no key value store {Name}", "DescribeKeyValueStore")
                return {
                    "KeyValueStore": {"Name": api.name, "Id": api.id, "ARN": api.arn, "Status": "READY"},
                    "ETag": "local",
                }

        return ControlPlane()

    def _check(self, arn: str, operation: str) -> None:
        if arn != self.arn:
            raise _error("ResourceNotFoundException", f"no key value store {arn}", operation)

    def describe_key_value_store(self, KvsARN: str) -> dict[str, Any]:
        self._check(KvsARN, "DescribeKeyValueStore")
        return {"KvsARN": self.arn, "ETag": self.store.etag(), "Status": "READY"}

    def get_key(self, KvsARN: str, Key: str) -> dict[str, Any]:
        self._check(KvsARN, "GetKey")
        value = self.store.get(Key)
        if value is None:
            raise _error("ResourceNotFoundException", f"no key {Key}", "GetKey")
        return {"Key": Key, "Value": value, "ETag": self.store.etag()}

    def update_keys(
        self,
        KvsARN: str,
        IfMatch: str,
        Puts: Iterable[Mapping[str, str]] = (),
        Deletes: Iterable[Mapping[str, str]] = (),
    ) -> dict[str, Any]:
        from lambdas.shared.routes import RouteStoreConflict

        self._check(KvsARN, "UpdateKeys")
        try:
            self.store.write(IfMatch, {p["Key"]: p["Value"] for p in Puts}, [d["Key"] for d in Deletes])
        except RouteStoreConflict:
            raise _error("ConflictException", "the ETag does not match", "UpdateKeys") from None
        return {"ETag": self.store.etag()}


class ControlServer:
    """The loopback control endpoint: `POST /<service>/<operation>` with the keyword arguments as JSON."""

    def __init__(self, services: Mapping[str, Any], port: int = 0) -> None:
        self.services = dict(services)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="control", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def call(self, service: str, operation: str, kwargs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if service not in self.services or operation not in OPERATIONS.get(service, ()):
            return 404, {"Error": {"Code": "UnknownOperation", "Message": f"{service}.{operation}"}}
        try:
            return 200, getattr(self.services[service], operation)(**kwargs) or {}
        except ClientError as err:
            return 400, {"Error": err.response.get("Error", {})}
        except TypeError as err:  # wrong or missing parameters, as botocore's validation would say
            return 400, {"Error": {"Code": "ValidationError", "Message": str(err)}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        control = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the platform's log is for the platform."""

            def do_POST(self) -> None:
                parts = self.path.strip("/").split("/")
                length = int(self.headers.get("content-length") or 0)
                try:
                    kwargs = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    kwargs = None
                if len(parts) != 2 or not isinstance(kwargs, dict):
                    status, answer = 400, {"Error": {"Code": "BadRequest", "Message": self.path}}
                else:
                    status, answer = control.call(parts[0], parts[1], kwargs)
                body = json.dumps(answer, default=str).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
