"""The local Batch stand-in runs the real build runner as a Fargate job runs it: credentials only from a
container credentials endpoint, the user's commands with no way to reach them, and still an uploaded
output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from battleshiper_cli.local.aws import MotoServer
from battleshiper_cli.local.batch import JobDefinition, LocalBatch
from battleshiper_cli.local.bus import LocalBus
from battleshiper_cli.local.credentials import PATH_PREFIX
from lambdas.shared import names
from lambdas.shared.names import Env
from templates.project import build_runner_command

BUCKET = "build-assets"
EXECUTION = "20261203T061500-abc123"
TOKEN = "ghs_SECRETrepoScopedToken123"
# What a hostile build command tries: its environment, the container's first process's and every other
# process's it can read (its ancestors: the runner), and the credentials endpoints it might guess.
PROBE = r"""
mkdir -p build
{
  echo "uid=$(id -u)"
  echo "--- env"; env
  echo "--- /proc/1/environ"; tr '\0' '\n' < /proc/1/environ 2>&1
  pid=$$
  while [ "$pid" -gt 1 ]; do
    echo "--- ancestor $pid"; tr '\0' '\n' < /proc/$pid/environ 2>&1
    pid=$(awk '/^PPid:/ {print $2}' /proc/$pid/status)
  done
  for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null; done
  echo "--- endpoints"
  node -e 'for (const u of ["http://169.254.170.2/v2/credentials", "http://169.254.169.254/latest/"])
    fetch(u, {signal: AbortSignal.timeout(500)}).then(r => console.log(u, r.status),
                                                      () => console.log(u, "unreachable"))'
} > build/report.txt 2>&1
"""


@dataclass
class Local:
    batch: LocalBatch
    aws: MotoServer
    events: list[dict[str, Any]]
    handed: list[str]  # what the stand-in put into the runner's environment for its credentials


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    aws = MotoServer().start()
    bus = LocalBus(aws.client("events"), log=lambda _line: None)
    events: list[dict[str, Any]] = []
    bus.publish = lambda _bus, event: events.append(event)  # type: ignore[method-assign]
    batch = LocalBatch(aws, bus, tmp_path, log=lambda _line: None)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    handed: list[str] = []
    register = batch._credentials.register

    def recorded() -> tuple[str, dict[str, str]]:
        job, variables = register()
        handed.extend(variables.values())
        return job, variables

    batch._credentials.register = recorded  # type: ignore[method-assign]
    try:
        yield Local(batch, aws, events, handed)
    finally:
        batch.close()
        aws.stop()


def repository(tmp_path: Path) -> str:
    work, bare = tmp_path / "work", tmp_path / "app.git"
    work.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (work / "package.json").write_text('{"name": "app"}')
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], env=env, check=True)
    return f"file://{bare}"


def build(local: Local, tmp_path: Path, command: str, **extra: Any) -> tuple[str, str]:
    """Run one build job with `command`; returns its status and the report it packed (else its log)."""
    s3 = local.aws.client("s3")
    spec = {"clone_url": repository(tmp_path), "token": TOKEN, "branch": "main", "commit": "",
            "install_command": "", "build_command": command, "output_directory": "build", **extra}
    s3.put_object(Bucket=BUCKET, Key=names.build_spec_key("shop", EXECUTION), Body=json.dumps(spec).encode())
    local.batch.definitions["battleshiper-build-shop"] = JobDefinition(
        name="battleshiper-build-shop",
        command=build_runner_command(),
        environment={Env.BUILD_BUCKET: BUCKET, Env.PROJECT: "shop", Env.BUILD_TIMEOUT_SECONDS: "100",
                     Env.BUILD_USER: names.BUILD_USER},
        timeout_seconds=120,
    )
    job = local.batch.submit("battleshiper-build-shop", "queue", {}, {Env.EXECUTION_ID: EXECUTION})
    deadline = time.monotonic() + 120
    while not local.events and time.monotonic() < deadline:
        time.sleep(0.2)
    assert local.events, "the job did not finish"
    if job.status != "SUCCEEDED":
        return job.status, "\n".join(job.output)
    body = s3.get_object(Bucket=BUCKET, Key=names.build_output_key("shop", EXECUTION))["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        report = archive.extractfile("./report.txt")
        assert report
        return job.status, report.read().decode()


def secrets_in(report: str, local: Local) -> list[str]:
    assert len(local.handed) == 2  # the endpoint's URI and its authorization token
    markers = [*local.handed, "AWS_CONTAINER_", "AWS_ACCESS_KEY_ID", "ECS_", PATH_PREFIX, TOKEN]
    return [m for m in markers if m in report]


def test_the_build_gets_its_credentials_from_the_endpoint_and_its_commands_see_none(
    local: Local, tmp_path: Path
) -> None:
    status, report = build(local, tmp_path, "mkdir -p build && env > build/report.txt")
    assert status == "SUCCEEDED", report  # the runner fetched the spec and uploaded the output
    assert secrets_in(report, local) == []
    assert not [line for line in report.splitlines() if line.startswith(("AWS_", "ECS_", "GIT_CONFIG"))]


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the job container's switch to an unprivileged user needs root to model"
)
def test_a_build_command_hunting_for_credentials_finds_none(local: Local, tmp_path: Path) -> None:
    status, report = build(local, tmp_path, PROBE)
    assert status == "SUCCEEDED", report
    assert f"uid={names.BUILD_USER.split(':')[0]}" in report
    assert "--- /proc/1/environ" in report and "--- ancestor" in report  # it did look
    assert secrets_in(report, local) == []


def test_the_build_users_commands_get_the_variables_and_their_output_is_masked(
    local: Local, tmp_path: Path
) -> None:
    secret = "sk_live_batchSecret42"
    status, log = build(local, tmp_path, 'echo "key=$API_KEY"; printf "$API_KEY" >&2; exit 3',
                        environment={"API_KEY": secret}, masked=[secret])
    assert status == "FAILED"
    assert "environment: 1 variables (API_KEY)" in log and "build failed (exit 3)" in log
    assert "key=***" in log and secret not in log
