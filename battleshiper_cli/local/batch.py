"""The local build runner, in place of AWS Batch: a job is the job definition's own command (the embedded
`build.mjs`) in a subprocess, in a fresh work folder, with a scrubbed environment (the job definition's
variables, the job's overrides, nothing of the caller's), under the job definition's time limit, with
`S3_ENDPOINT` at moto. Credentials reach it as they reach a Fargate job: from a container credentials
endpoint whose URI and token are in its environment (`credentials.py`), never as keys. When the local
platform runs as root, the runner is root as in the job's container, so it runs the user's commands as
the job definition's unprivileged `BUILD_USER`; the work folder is then one that user can reach (without
root there is no user to switch to: the commands run as the caller). When it
ends, a `Batch Job State Change` event like Batch's goes on the default bus, where the deploy rule's own
pattern picks it up."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battleshiper_cli.local.aws import ACCOUNT, REGION, MotoServer
from battleshiper_cli.local.bus import LocalBus
from battleshiper_cli.local.credentials import CredentialsEndpoint
from lambdas.shared import names
from lambdas.shared.names import Env

# What a build may inherit from the machine: how to find programs, and npm's shared cache under HOME.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "npm_config_cache")


@dataclass
class JobDefinition:
    name: str
    command: list[str]
    environment: dict[str, str]
    timeout_seconds: int
    log_group: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{self.name}:1"


@dataclass
class Job:
    id: str
    definition: JobDefinition
    queue: str
    parameters: dict[str, str]
    environment: dict[str, str]
    status: str = "RUNNABLE"
    reason: str = ""
    exit_code: int | None = None
    output: list[str] = field(default_factory=list)


class LocalBatch:
    def __init__(
        self,
        aws: MotoServer,
        bus: LocalBus,
        folder: Path,
        log: Callable[[str], None] = print,
        max_parallel: int = 2,
    ) -> None:
        self._aws = aws
        self._bus = bus
        self._folder = folder
        self._log = log
        self._logs = aws.client("logs")
        self.definitions: dict[str, JobDefinition] = {}
        self.jobs: dict[str, Job] = {}
        self._slots = threading.Semaphore(max_parallel)
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._closed = False
        moto = aws.environment()
        self._credentials = CredentialsEndpoint(moto["AWS_ACCESS_KEY_ID"], moto["AWS_SECRET_ACCESS_KEY"])

    def submit(
        self, definition_name: str, queue: str, parameters: dict[str, str], environment: dict[str, str]
    ) -> Job:
        definition = self.definitions[definition_name]
        job = Job(str(uuid.uuid4()), definition, queue, parameters, environment)
        self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"build-{job.id[:8]}", daemon=True).start()
        return job

    def _environment(self, job: Job, tmp: Path, credentials: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
        env.update(job.definition.environment)
        env.update(job.environment)
        env.update(credentials, AWS_REGION=REGION, TMPDIR=str(tmp))
        if os.geteuid() != 0:
            # Not root: there is no other user to switch to, and the runner refuses a BUILD_USER it
            # cannot switch to (a build image that starts unprivileged), so the build runs as the caller.
            env.pop(Env.BUILD_USER, None)
        # Path-style addressing of the same bucket, at moto.
        env[Env.S3_ENDPOINT] = f"{self._aws.endpoint}/{job.definition.environment[Env.BUILD_BUCKET]}"
        return env

    def _run(self, job: Job) -> None:
        with self._slots:
            if self._closed:
                return
            job.status = "RUNNING"
            work = self._work_folder(job)
            started = time.monotonic()
            grant, credentials = self._credentials.register()
            try:
                process = subprocess.Popen(
                    job.definition.command,
                    cwd=work,
                    env=self._environment(job, work, credentials),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                with self._lock:
                    self._processes.add(process)
                timer = threading.Timer(job.definition.timeout_seconds, process.kill)
                timer.start()
                assert process.stdout is not None
                for raw in process.stdout:
                    job.output.append(raw.decode(errors="replace").rstrip("\n"))
                job.exit_code = process.wait()
                timer.cancel()
                with self._lock:
                    self._processes.discard(process)
                if time.monotonic() - started >= job.definition.timeout_seconds:
                    job.status, job.reason = "FAILED", "Job attempt duration exceeded timeout"
                elif job.exit_code == 0:
                    job.status = "SUCCEEDED"
                else:
                    job.status, job.reason = "FAILED", "Essential container in task exited"
            except OSError as err:
                job.status, job.reason = "FAILED", f"CannotStartContainerError: {err}"
            finally:
                self._credentials.revoke(grant)
                shutil.rmtree(work, ignore_errors=True)
            self._write_log(job)
            if not self._closed:
                self._log(
                    f"build job {job.id[:8]} ({job.definition.name}) {job.status.lower()}"
                    f" in {time.monotonic() - started:.0f} s"
                )
                self._bus.publish("default", self.state_change(job))

    def _work_folder(self, job: Job) -> Path:
        prefix = f"job-{job.id[:8]}-"
        if os.geteuid() != 0:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=self._folder))
        # The runner hands its folder in here to the build user, who must be able to reach it: the
        # system's temporary folder, not the data folder (whose parents may be private).
        work = Path(tempfile.mkdtemp(prefix=f"battleshiper-{prefix}"))
        work.chmod(0o711)
        return work

    def _write_log(self, job: Job) -> None:
        if not job.definition.log_group or not job.output:
            return
        stream = f"build/{job.definition.name}/{job.id}"
        try:
            self._logs.create_log_stream(logGroupName=job.definition.log_group, logStreamName=stream)
            now = int(time.time() * 1000)
            lines = job.output[-5000:]
            for start in range(0, len(lines), 1000):
                self._logs.put_log_events(
                    logGroupName=job.definition.log_group,
                    logStreamName=stream,
                    logEvents=[
                        {"timestamp": now, "message": line or " "} for line in lines[start : start + 1000]
                    ],
                )
        except Exception as err:
            self._log(f"build log not written: {err!r}")

    def state_change(self, job: Job) -> dict[str, Any]:
        """The event Batch puts on the default bus when a job ends."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": names.BATCH_DETAIL_TYPE,
            "source": names.BATCH_EVENT_SOURCE,
            "account": ACCOUNT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": REGION,
            "resources": [f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job.id}"],
            "detail": {
                "jobName": job.definition.name,
                "jobId": job.id,
                "jobQueue": job.queue,
                "status": job.status,
                "statusReason": job.reason,
                "jobDefinition": job.definition.arn,
                "parameters": job.parameters,
                "container": {
                    "exitCode": job.exit_code,
                    "environment": [{"name": k, "value": v} for k, v in job.environment.items()],
                },
            },
        }

    def close(self) -> None:
        self._closed = True
        self._credentials.close()
        with self._lock:
            for process in self._processes:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, 9)
