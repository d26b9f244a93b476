"""The dashboard's browser test against the running local platform: headless Chromium at
http://localhost:<port> signs in through the local GitHub stand-in, finds a project in the list and opens
its page, and edits its environment variables there. Screenshots go to
web/dashboard/test-results/screenshots/local/."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from typing import Any

import pytest

from battleshiper_cli import packaging
from battleshiper_cli.local.git_host import git
from tests.local.conftest import Local
from tests.local.test_local_platform import api, sign_in
from tests.support.browser import chromium_env

SCRIPT = packaging.DASHBOARD / "e2e" / "local.mjs"  # beside node_modules, where playwright-core resolves
SHOTS = packaging.DASHBOARD / "test-results" / "screenshots" / "local"
PROJECT = "gallery"



@pytest.fixture(scope="module")
def session(local: Local) -> str:
    """The local user's session, with the project created (once for the module's tests)."""
    session = sign_in(local)
    create_project(local, session)
    return session


def create_project(local: Local, session: str) -> None:
    """A project from a local repository (no push: the browser needs the record, not a build)."""
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


def run_browser(local: Local, scenario: str) -> None:
    shots = SHOTS / scenario
    shutil.rmtree(shots, ignore_errors=True)  # only this run's screenshots
    done = subprocess.run(
        ["node", str(SCRIPT), f"http://localhost:{local.port}", str(shots), PROJECT, f"local/{PROJECT}",
         scenario],
        cwd=packaging.DASHBOARD, env=chromium_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "OK"
    assert (shots / "project.png").is_file()


def test_the_dashboard_in_a_browser_against_the_local_platform(local: Local, session: str) -> None:
    run_browser(local, "project")


def test_environment_variables_and_secrets_in_the_dashboard(local: Local, session: str) -> None:
    run_browser(local, "env")
    # What the script left, as the API has it: the edited plain values, the secret (its latest value
    # is not readable here by design), the deleted preview entry gone.
    answer = api(local, session, "GET", f"/api/resource/env?project_name={PROJECT}")
    assert answer.status == 200, answer.text
    found = {(v["target"], v["name"]): v for v in json.loads(answer.body)["variables"]}
    assert set(found) == {("production", "API_URL"), ("production", "STRIPE_KEY")}
    assert found["production", "API_URL"]["value"] == "https://api.example.test/v1"
    secret = found["production", "STRIPE_KEY"]
    assert (secret["kind"], secret["value"], secret["masked"]) == ("secret", None, True)
    assert secret["size"] == len("sk_test_second_93be17c4")
    assert (SHOTS / "env" / "environment.png").is_file()
