"""The operator commands with `--local` against the session's running local platform, run as an operator
runs them (a separate `battleshiper` process): list, show, build, logs, status, rollback, delete, env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from battleshiper_cli.local import sample
from battleshiper_cli.local.git_host import git
from lambdas.shared import names
from tests.local.conftest import Local
from tests.local.test_local_platform import api, sign_in

PROJECT = "ops"
SITE = f"{PROJECT}.localhost"


def battleshiper(local: Local, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from battleshiper_cli.main import main; main()",
         "--local", "--local-dir", str(local.data_dir), *args],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def as_json(local: Local, *args: str) -> Any:
    done = battleshiper(local, "--output", "json", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def wait_for(check: Callable[[], Any], timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"timed out (last answer: {found!r})")


def create_project(local: Local, session: str, name: str, **fields: str) -> None:
    """The project of the local repository `local/<name>`, once the stand-in lists it, through the API."""
    repository = wait_for(lambda: [
        r for r in json.loads(api(local, session, "GET", "/api/resource/listrepository").body)["repositories"]
        if r["full_name"] == f"local/{name}"
    ])[0]
    created = api(local, session, "POST", "/api/resource/createproject",
                  {"project_name": name, "repository_id": repository["id"], **fields})
    assert created.status == 201, created.text


def test_operator_commands_against_the_local_platform(local: Local, tmp_path: Any) -> None:
    session = sign_in(local)
    remote = local.data_dir / "git" / "local" / f"{PROJECT}.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    source = sample.prepare(tmp_path / PROJECT)
    # A commit before the project exists (its webhook finds no project): the CLI builds it.
    log = local.data_dir / "up.log"
    delivered = log.read_text().count("push webhook:")
    first_commit = sample.push_directory(remote, source, "first")
    # The stand-in notices pushes on its own schedule: let its webhook for this one (which finds no
    # project) arrive before the project exists, or it would start a build of its own.
    wait_for(lambda: log.read_text().count("push webhook:") > delivered, 60)
    create_project(local, session, PROJECT, install_command=sample.INSTALL_COMMAND)

    def shown() -> dict[str, Any]:
        return dict(as_json(local, "project", "show", PROJECT))

    deadline = time.monotonic() + 60
    while (project := shown()["project"])["status"] != "READY":
        if time.monotonic() > deadline:
            pytest.fail(f"the project did not become READY: {project}")
        time.sleep(0.3)

    # build: the operator starts a build of a given commit; it goes live.
    started = as_json(local, "project", "build", PROJECT, "--commit", first_commit)
    first = wait_for(lambda: (d := shown())["project"]["status"] in ("LIVE", "FAILED") and d)
    assert first["project"]["status"] == "LIVE", first["project"]["status_reason"]
    assert first["project"]["live_deployment"] == started["deployment_id"]
    assert "Disallow: /second" not in local.request(SITE, "/robots.txt").text

    # A push deploys the second version.
    (source / "static" / "robots.txt").write_text("User-agent: *\nDisallow: /second\n")
    sample.push_directory(remote, source, "second")
    second = wait_for(lambda: (d := shown())["project"]["live_deployment"] != started["deployment_id"]
                      and d["project"]["status"] in ("LIVE", "FAILED") and d)
    assert second["project"]["status"] == "LIVE", second["project"]["status_reason"]
    assert "Disallow: /second" in local.request(SITE, "/robots.txt").text

    # show: the project's stack, deployments (newest first), quota.
    assert second["stack"] == {"name": names.Names("battleshiper").project_stack(PROJECT),
                               "status": "CREATE_COMPLETE"}
    ids = [d["deployment_id"] for d in second["deployments"]]
    assert ids[1] == started["deployment_id"] and ids[0] == second["project"]["live_deployment"]
    assert second["quota"]["builds_today"]["used"] >= 2

    # list: one row per project, with its live deployment.
    rows = {r["name"]: r for r in as_json(local, "project", "list")}
    assert rows[PROJECT]["status"] == "LIVE"
    assert rows[PROJECT]["live_deployment"] == second["project"]["live_deployment"]
    assert rows[PROJECT]["owner"] == "local"

    # logs: the event log has the operator's build, the build log the build's output.
    events = [json.loads(line) for line in battleshiper(
        local, "-o", "json", "project", "logs", PROJECT, "--since", "1h").stdout.splitlines()]
    assert any(e["kind"] == "event" and f"build {started['deployment_id']} requested by operator"
               in e["message"] for e in events)
    assert any(e["kind"] == "build" for e in events)
    text = battleshiper(local, "project", "logs", PROJECT, "--kind", "event")
    assert text.returncode == 0 and "requested by operator" in text.stdout

    # status: the platform stack record and the project's stack.
    status = as_json(local, "status")
    assert status["status"] == "CREATE_COMPLETE" and status["parameters"]["Domain"] == "localhost"
    assert status["outputs"]["DashboardUrl"] == f"http://localhost:{local.port}"
    assert names.Names("battleshiper").project_stack(PROJECT) in [p["stack"] for p in status["projects"]]

    # rollback: the first deployment answers again at once, through the platform's route store.
    rolled = battleshiper(local, "project", "rollback", PROJECT, "--to", started["deployment_id"])
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"{started['deployment_id']} is live" in rolled.stdout + rolled.stderr
    robots = local.request(SITE, "/robots.txt")
    assert robots.status == 200 and "Disallow: /second" not in robots.text
    assert shown()["project"]["live_deployment"] == started["deployment_id"]
    refused = battleshiper(local, "project", "rollback", PROJECT, "--to", "no-such-deployment")
    assert refused.returncode == 2 and "refused" in refused.stdout + refused.stderr

    # delete: the pipeline removes the project; its host answers with the error page.
    deleted = battleshiper(local, "--yes", "project", "delete", PROJECT)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    wait_for(lambda: battleshiper(local, "project", "show", PROJECT).returncode == 1, 60)
    assert local.request(SITE, "/").status == 404


def test_environment_variables_against_the_local_platform(local: Local) -> None:
    # A project of an empty repository: the variables need its record, not a build.
    session = sign_in(local)
    name = "envs"
    remote = local.data_dir / "git" / "local" / f"{name}.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    create_project(local, session, name)

    done = battleshiper(local, "project", "env", "set", name, "GREETING=hello", "--runtime")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"set GREETING (production, preview; runtime) on {name}" in done.stderr
    assert battleshiper(local, "project", "env", "set", name, "API_KEY=s3cr3t", "--secret").returncode == 0
    views = as_json(local, "project", "env", "list", name)
    assert {(v["name"], v["value"], v["masked"]) for v in views} == {
        ("GREETING", "hello", False), ("API_KEY", None, True)}
    assert "s3cr3t" not in json.dumps(views)
    pulled = battleshiper(local, "project", "env", "pull", name, "--file", "-")
    assert pulled.stdout == "GREETING='hello'\n", pulled.stdout + pulled.stderr


def test_without_a_running_local_platform_the_commands_say_how_to_start_one(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from battleshiper_cli.main import main; main()",
         "--local", "--local-dir", str(tmp_path), "project", "list"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 2
    assert "no local platform is running" in done.stdout + done.stderr
    assert "battleshiper local up" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
