"""The dashboard's browser test against the running local platform: headless Chromium at
http://localhost:<port> signs in through the local GitHub stand-in, finds a project in the list and opens
its page. Screenshots go to web/dashboard/test-results/screenshots/local/."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from typing import Any

from battleshiper_cli import packaging
from battleshiper_cli.local.git_host import git
from tests.local.conftest import Local
from tests.local.test_local_platform import api, sign_in
from tests.support.browser import chromium_env

SCRIPT = packaging.DASHBOARD / "e2e" / "local.mjs"  # beside node_modules, where playwright-core resolves
SHOTS = packaging.DASHBOARD / "test-results" / "screenshots" / "local"
PROJECT = "gallery"



def create_project(local: Local) -> None:
    """A project from a local repository (no push: the browser needs the record, not a build)."""
    session = sign_in(local)
    remote = local.data_dir / "git" / "local" / f"{PROJECT}.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    repositories: list[dict[str, Any]] = []
    for _ in range(50):
        listed = json.loads(api(local, session, "GET", "/api/resource/listrepository").body)["repositories"]
        repositories = [r for r in listed if r["full_name"] == f"local/{PROJECT}"]
        if repositories:
            break
        time.sleep(0.2)
    assert repositories
    created = api(local, session, "POST", "/api/resource/createproject",
                  {"project_name": PROJECT, "repository_id": repositories[0]["id"]})
    assert created.status == 201, created.text


def test_the_dashboard_in_a_browser_against_the_local_platform(local: Local) -> None:
    create_project(local)
    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's screenshots
    done = subprocess.run(
        ["node", str(SCRIPT), f"http://localhost:{local.port}", str(SHOTS), PROJECT, f"local/{PROJECT}"],
        cwd=packaging.DASHBOARD, env=chromium_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "OK"
    assert (SHOTS / "project.png").is_file()
