"""Issue 14 on the local platform, as an operator does it: variables set with `project env set --local`
reach the build (`$env/static/public`) and the server function (`$env/dynamic/private`) of the next
deployment, a rollback brings the older configuration back, and a secret is printed by nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from battleshiper_cli.local import sample
from battleshiper_cli.local.git_host import git
from tests.local.conftest import Local
from tests.local.test_local_platform import sign_in
from tests.local.test_operator_commands import as_json, battleshiper, create_project, wait_for

PROJECT = "cfg"
SITE = f"{PROJECT}.localhost"
SECRET = "pa55-9c1d-secret"


def ssr(local: Local) -> dict[str, str]:
    page = local.request(SITE, "/ssr")
    assert page.status == 200, page.text
    return dict(re.findall(r'<p id="(greeting|build-label)">([^<]*)</p>', page.text))


def live_after(local: Local, previous: str | None) -> dict[str, Any]:
    def settled() -> Any:
        project = as_json(local, "project", "show", PROJECT)["project"]
        moved = project["live_deployment"] not in (None, previous) or project["status"] == "FAILED"
        return moved and project["status"] in ("LIVE", "FAILED") and project

    project: dict[str, Any] = wait_for(settled)
    assert project["status"] == "LIVE", project["status_reason"]
    return project


def test_variables_reach_build_and_server_and_roll_back_with_the_code(local: Local, tmp_path: Path) -> None:
    session = sign_in(local)
    remote = local.data_dir / "git" / "local" / f"{PROJECT}.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    log = local.data_dir / "up.log"
    delivered = log.read_text().count("push webhook:")
    commit = sample.push_directory(remote, sample.prepare(tmp_path / PROJECT), "first")
    wait_for(lambda: log.read_text().count("push webhook:") > delivered, 60)
    # A build command that prints the secret: the build log must show it masked.
    create_project(local, session, PROJECT, install_command=sample.INSTALL_COMMAND,
                   build_command='echo "connecting with $DB_PASSWORD" && npm run build')
    wait_for(lambda: as_json(local, "project", "show", PROJECT)["project"]["status"] == "READY", 60)

    printed = []
    for args in (["GREETING=hi", "--runtime"], ["PUBLIC_BUILD_LABEL=from-env", "--build"],
                 [f"DB_PASSWORD={SECRET}", "--secret"]):
        done = battleshiper(local, "project", "env", "set", PROJECT, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        printed.append(done.stdout + done.stderr)
    listed = battleshiper(local, "project", "env", "list", PROJECT)
    assert listed.returncode == 0 and "GREETING" in listed.stdout and "hi" in listed.stdout
    printed += [listed.stdout + listed.stderr, json.dumps(as_json(local, "project", "env", "list", PROJECT))]

    first = as_json(local, "project", "build", PROJECT, "--commit", commit)
    live_after(local, None)
    assert ssr(local) == {"greeting": "hi", "build-label": "from-env"}

    # A change applies to the next deployment only.
    assert battleshiper(local, "project", "env", "set", PROJECT, "GREETING=bye", "--runtime").returncode == 0
    assert ssr(local)["greeting"] == "hi"
    second = as_json(local, "project", "build", PROJECT, "--commit", commit)
    live_after(local, first["deployment_id"])
    assert ssr(local)["greeting"] == "bye"

    rolled = battleshiper(local, "project", "rollback", PROJECT, "--to", first["deployment_id"])
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert ssr(local) == {"greeting": "hi", "build-label": "from-env"}
    assert second["deployment_id"] != first["deployment_id"]

    # The secret reached the build (the command echoed it) and no log, event or output shows it.
    logs = battleshiper(local, "-o", "json", "project", "logs", PROJECT, "--since", "1h")
    events = [json.loads(line) for line in logs.stdout.splitlines()]
    assert any("connecting with ***" in e["message"] for e in events if e["kind"] == "build")
    shown = json.dumps(as_json(local, "project", "show", PROJECT))
    for text in (*printed, logs.stdout, shown, log.read_text(), rolled.stdout + rolled.stderr):
        assert SECRET not in text
