"""The build job's command, taken from the rendered project template and run with Node: a local HTTP
server stands in for S3 and the container credentials endpoint, a local bare repository for GitHub."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lambdas.shared import names
from templates.config import PlatformConfig, placeholder_artifacts
from templates.project import build_project_template

PROJECT = "shop"
EXECUTION = "0b7c6a2e-6d1f-4d6e-9a57-3f1c2b8e9d10"
BUCKET = "build-assets"
REGION = "eu-central-1"
TOKEN = "ghs_SECRETrepoScopedToken123"
CREDS = Credentials("AKIATESTJOBROLE", "job-role-secret-key", "job-role-session-token")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeAws:
    """S3 (path style, one bucket) and the ECS credentials endpoint."""

    objects: dict[str, bytes] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{BUCKET}"


@pytest.fixture
def aws() -> Iterator[FakeAws]:
    fake = FakeAws()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            fake.requests.append(
                Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if self.path == "/credentials":
                self._reply(
                    200,
                    json.dumps(
                        {
                            "AccessKeyId": CREDS.access_key,
                            "SecretAccessKey": CREDS.secret_key,
                            "Token": CREDS.token,
                            "Expiration": "2099-01-01T00:00:00Z",
                        }
                    ).encode(),
                )
                return
            key = self.path.removeprefix(f"/{BUCKET}/")
            if self.command == "PUT":
                fake.objects[key] = body
                self._reply(200, b"")
            elif key in fake.objects:
                self._reply(200, fake.objects[key])
            else:
                self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")

        do_GET = do_PUT = _serve

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout


@pytest.fixture
def repository(tmp_path: Path) -> tuple[str, str]:
    """A bare repository whose `main` has two commits; returns (clone URL, first commit)."""
    work, bare = tmp_path / "work", tmp_path / "app.git"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "package.json").write_text('{"name": "app"}')
    (work / "version.txt").write_text("first")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work).strip()
    (work / "version.txt").write_text("second")
    git("commit", "-q", "-am", "second", cwd=work)
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return f"file://{bare}", first


def job_command() -> list[str]:
    template = json.loads(build_project_template(PlatformConfig(artifacts=placeholder_artifacts())).to_json())
    command: list[str] = template["Resources"]["BuildJobDefinition"]["Properties"]["ContainerProperties"][
        "Command"
    ]
    return command


def run_job(
    aws: FakeAws, tmp_path: Path, spec: dict[str, Any], timeout_seconds: int = 60
) -> subprocess.CompletedProcess[str]:
    aws.objects[names.build_spec_key(PROJECT, EXECUTION)] = json.dumps(spec).encode()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        names.Env.EXECUTION_ID: EXECUTION,
        names.Env.PROJECT: PROJECT,
        names.Env.BUILD_BUCKET: BUCKET,
        names.Env.S3_ENDPOINT: aws.endpoint,
        names.Env.BUILD_TIMEOUT_SECONDS: str(timeout_seconds),
        "AWS_REGION": REGION,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{aws.port}/credentials",
    }
    return subprocess.run(job_command(), env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def spec(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "clone_url": url,
        "token": TOKEN,
        "branch": "main",
        "commit": "",
        "install_command": "echo installed",
        "build_command": "mkdir -p build/client && cp version.txt build/client/ && env > build/env.txt",
        "output_directory": "build",
        **overrides,
    }


def output_files(aws: FakeAws) -> dict[str, str]:
    archive = aws.objects[names.build_output_key(PROJECT, EXECUTION)]
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            m.name.removeprefix("./"): tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def valid_signature(request: Received) -> bool:
    """Recompute the SigV4 signature with botocore from what the server received."""
    authorization = request.headers["authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", authorization).group(1).split(";")  # type: ignore[union-attr]
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{request.path}",
        data=request.body,
        headers={h: request.headers[h] for h in signed if h != "host"},
    )
    aws_request.context["timestamp"] = request.headers["x-amz-date"]
    signer = S3SigV4Auth(CREDS, "s3", REGION)
    string_to_sign = signer.string_to_sign(aws_request, signer.canonical_request(aws_request))
    return authorization.endswith(f"Signature={signer.signature(string_to_sign, aws_request)}")


def test_build_uploads_the_packed_output_directory(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    result = run_job(aws, tmp_path, spec(url))
    assert result.returncode == 0, result.stdout + result.stderr
    files = output_files(aws)
    assert files["client/version.txt"] == "second"  # the branch tip
    assert f"START BUILD {PROJECT} {EXECUTION}" in result.stdout


def test_build_checks_out_the_requested_commit(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, first = repository
    result = run_job(aws, tmp_path, spec(url, commit=first))
    assert result.returncode == 0, result.stdout + result.stderr
    assert output_files(aws)["client/version.txt"] == "first"


def test_token_and_job_credentials_stay_out_of_logs_and_build_commands(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    result = run_job(aws, tmp_path, spec(url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    build_env = output_files(aws)["env.txt"]
    assert TOKEN not in build_env and CREDS.secret_key not in build_env
    assert not [line for line in build_env.splitlines() if line.startswith(("AWS_", "GIT_CONFIG"))]


def test_s3_requests_are_signed_with_the_job_credentials(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    assert run_job(aws, tmp_path, spec(url)).returncode == 0
    s3_requests = [r for r in aws.requests if r.path.startswith(f"/{BUCKET}/")]
    assert [(r.method, r.path) for r in s3_requests] == [
        ("GET", f"/{BUCKET}/{names.build_spec_key(PROJECT, EXECUTION)}"),
        ("PUT", f"/{BUCKET}/{names.build_output_key(PROJECT, EXECUTION)}"),
    ]
    for request in s3_requests:
        assert request.headers["x-amz-security-token"] == CREDS.token
        assert valid_signature(request)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"build_command": "echo broken; exit 3"}, "build failed (exit 3)"),
        ({"install_command": "exit 1"}, "install failed (exit 1)"),
        ({"output_directory": "../.."}, "does not exist in the repository"),
        ({"output_directory": "dist"}, "does not exist in the repository"),
        ({"branch": "no-such-branch"}, "checkout failed"),
    ],
)
def test_a_failing_build_exits_non_zero_and_uploads_nothing(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str], overrides: dict[str, Any], message: str
) -> None:
    url, _ = repository
    result = run_job(aws, tmp_path, spec(url, **overrides))
    assert result.returncode != 0
    failure = result.stdout.splitlines()[-1]
    assert "BUILD FAILED" in failure and message in failure
    assert names.build_output_key(PROJECT, EXECUTION) not in aws.objects


def test_a_clone_url_with_credentials_is_refused(aws: FakeAws, tmp_path: Path) -> None:
    result = run_job(aws, tmp_path, spec(f"https://x-access-token:{TOKEN}@github.com/o/r.git"))
    assert result.returncode != 0
    assert TOKEN not in result.stdout + result.stderr


def test_a_build_that_outlives_its_time_is_stopped(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    result = run_job(
        aws, tmp_path, spec(url, install_command="", build_command="sleep 30"), timeout_seconds=2
    )
    assert result.returncode != 0
    assert "BUILD FAILED: build timed out" in result.stdout


SECRET = "sk_live_51HtopSecretValue"
HEAD, TAIL = '"$(echo $API_KEY | cut -c1-6)"', '"$(echo $API_KEY | cut -c7-)"'  # the secret in two parts


def test_build_variables_reach_the_commands_and_only_their_names_the_log(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    environment = {"PUBLIC_SITE_NAME": "Shop", "NODE_ENV": "production", "PATH": "/evil", "AWS_REGION": "x",
                   "BATTLESHIPER_ORIGIN_SECRET": "x"}
    build = "mkdir -p build && env > build/env.txt && echo site=$PUBLIC_SITE_NAME"
    result = run_job(aws, tmp_path, spec(url, environment=environment, build_command=build))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "site=Shop" in result.stdout
    assert "environment: 2 variables (NODE_ENV, PUBLIC_SITE_NAME)" in result.stdout
    build_env = dict(line.split("=", 1) for line in output_files(aws)["env.txt"].splitlines() if "=" in line)
    assert build_env["PUBLIC_SITE_NAME"] == "Shop" and build_env["NODE_ENV"] == "production"
    assert build_env["PATH"] != "/evil" and "AWS_REGION" not in build_env
    assert "BATTLESHIPER_ORIGIN_SECRET" not in build_env


@pytest.mark.parametrize(
    "command",
    [
        "echo token is $API_KEY",
        "echo token is $API_KEY >&2",
        # One line in two writes, then the same without a newline at all.
        f"printf 'token is %s' {HEAD}; sleep 0.2; printf '%s end\\n' {TAIL}",
        f"printf 'token is %s' {HEAD}; sleep 0.2; printf '%s' {TAIL}",
        "printf 'progress\\rtoken is %s\\rdone\\n' \"$API_KEY\"",
    ],
)
def test_secrets_are_masked_in_the_commands_output(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str], command: str
) -> None:
    url, _ = repository
    overrides = {"environment": {"API_KEY": SECRET}, "masked": [SECRET, ""], "install_command": command,
                 "build_command": f"{command}; mkdir -p build"}
    result = run_job(aws, tmp_path, spec(url, **overrides))
    assert result.returncode == 0, result.stdout + result.stderr
    log = result.stdout + result.stderr
    assert SECRET not in log and SECRET[6:] not in log
    assert log.count("token is ***") == 2  # install and build


def test_a_multi_line_secret_is_masked_whole_and_line_by_line(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n  bktkQ2F0YXN0cm9waGU= \n-----END KEY-----"
    command = "printf '%s\\n' \"$DEPLOY_KEY\"; echo \"$DEPLOY_KEY\" | sed -n 2p; mkdir -p build"
    overrides = {"environment": {"DEPLOY_KEY": key}, "masked": [key], "build_command": command}
    result = run_job(aws, tmp_path, spec(url, **overrides))
    assert result.returncode == 0, result.stdout + result.stderr
    for line in key.splitlines():
        assert line.strip() not in result.stdout
    # Whole when it comes in one piece, line by line otherwise; the second line alone too.
    output = result.stdout.split("mkdir -p build\n", 1)[1].splitlines()[:-1]
    assert output and all(set(line) <= {"*", " "} for line in output), output
    assert output[-1] == "***"


def test_a_spec_with_malformed_variables_is_refused_without_quoting_them(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    result = run_job(aws, tmp_path, spec(url, environment={"API_KEY": [SECRET]}))
    assert result.returncode != 0
    assert "environment must map names to strings" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_a_background_process_holding_the_output_does_not_hold_up_the_build(
    aws: FakeAws, tmp_path: Path, repository: tuple[str, str]
) -> None:
    url, _ = repository
    result = run_job(aws, tmp_path, spec(url, install_command="", build_command="sleep 8 & mkdir -p build"))
    assert result.returncode == 0, result.stdout + result.stderr
    seconds = int(re.search(r"uploaded \d+ bytes in (\d+) s", result.stdout).group(1))  # type: ignore[union-attr]
    assert seconds < 7  # the runner waited out its grace, not the sleep
