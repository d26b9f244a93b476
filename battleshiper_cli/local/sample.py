"""The sample project: the adapter's sample SvelteKit app as a self-contained repository (the adapter
packed into it with `npm pack`, the lock file made to match), pushed to a local repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battleshiper_cli.local.errors import LocalError
from battleshiper_cli.local.git_host import git

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_APP = ROOT / "tests" / "fixtures" / "sample-app"
ADAPTER = ROOT / "web" / "adapter"
ADAPTER_PACKAGE = "@battleshiper/adapter"
SKIP = ("node_modules", "build", ".svelte-kit")
NPM_FLAGS = ("--no-audit", "--no-fund", "--prefer-offline")
# What the build job runs: the lock file exactly, from npm's cache where it can.
INSTALL_COMMAND = "npm ci " + " ".join(NPM_FLAGS)


def _npm(*args: str, cwd: Path) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    result = subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)}: {result.stderr.strip()[-800:]}")
    return result.stdout


def prepare(destination: Path, source: Path = SAMPLE_APP) -> Path:
    """A copy of the sample app that builds on its own: the adapter comes as a packed tarball."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)
    tarball = (
        _npm("pack", str(ADAPTER), "--pack-destination", str(destination), "--silent", cwd=destination)
        .strip()
        .splitlines()[-1]
    )
    manifest = json.loads((destination / "package.json").read_text())
    for section in ("dependencies", "devDependencies"):
        if ADAPTER_PACKAGE in manifest.get(section, {}):
            manifest[section][ADAPTER_PACKAGE] = f"file:{tarball}"
    (destination / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _npm("install", "--package-lock-only", *NPM_FLAGS, cwd=destination)
    return destination


def push_directory(remote: Path, source: Path, message: str = "Sample app") -> str:
    """Commit `source` as the next commit of `main` and push it to the bare repository `remote` (a local
    repository of the GitHub stand-in); the commit sha."""
    with tempfile.TemporaryDirectory() as work:
        clone = Path(work) / "clone"
        git("clone", "-q", str(remote), str(clone))
        git("checkout", "-q", "-B", "main", cwd=clone)
        for item in clone.iterdir():
            if item.name != ".git":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        shutil.copytree(source, clone, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git", *SKIP))
        git("add", "-A", cwd=clone)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=clone)
        git("push", "-q", "origin", "main", cwd=clone)
        return git("rev-parse", "HEAD", cwd=clone).strip()


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def create(platform: Any, name: str, timeout: float) -> str:
    """Create the sample project from a local repository, let the pipeline build and deploy it, and
    return its URL once it answers."""
    if platform.project(name) is not None:
        return platform.project_url(name)
    full_name = f"{platform.github.account.login}/{name}"
    repo = platform.github.create_repository(full_name)
    if not platform.github.read_heads(platform.github.path(full_name)):
        with tempfile.TemporaryDirectory() as work:
            push_directory(platform.github.path(full_name), prepare(Path(work) / "app"))
    status, answer = platform.api(
        "POST",
        "/api/resource/createproject",
        {"project_name": name, "repository_id": repo.id, "install_command": INSTALL_COMMAND},
    )
    if status != 201:
        raise LocalError(f"the sample project was not created: {answer}")
    if not wait_for(lambda: (platform.project(name) or {}).get("status") == "READY", 60, 0.3):
        raise LocalError(f"the sample project's stack was not created: {platform.project(name)}")
    status, answer = platform.api("POST", "/api/resource/buildproject", {"project_name": name})
    if status not in (200, 201, 202):
        raise LocalError(f"the sample project's build did not start: {answer}")
    platform.log("building the sample project (npm install and vite build; the first time takes a while)")
    final = wait_for(
        lambda: (platform.project(name) or {}).get("status") in ("LIVE", "FAILED") and platform.project(name),
        timeout,
    )
    if not final or final["status"] != "LIVE":
        raise LocalError(
            f"the sample project did not go live: {(final or {}).get('status_reason', 'timed out')}"
            f" (see `battleshiper project logs {name} --local`)"
        )
    return platform.project_url(name)

