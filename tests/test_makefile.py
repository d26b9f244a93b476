"""`make test` provides what pip and npm cannot (Debian's Chromium), or stops at once saying how to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ABSENT = "chromium-not-installed-here"


def make_chromium(
    tmp_path: Path, *, uid: int, command: str = ABSENT,
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`make chromium` with stand-ins for `id` and `apt-get` first on PATH; returns apt-get's calls too."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "apt-calls"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    for tool in ("id", "apt-get"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["make", "-s", "chromium", f"CHROMIUM={command}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    return done, calls.read_text() if calls.exists() else ""


def test_as_a_user_it_stops_at_once_with_the_command_to_run(tmp_path: Path) -> None:
    done, apt = make_chromium(tmp_path, uid=1000)
    assert done.returncode != 0
    assert "sudo apt-get install -y chromium" in done.stderr
    assert apt == ""


def test_as_root_it_installs_chromium_with_apt_get(tmp_path: Path) -> None:
    done, apt = make_chromium(tmp_path, uid=0)
    assert done.returncode == 0, done.stderr
    assert apt.splitlines() == ["update -qq", f"install -y -qq {ABSENT}"]


@pytest.mark.parametrize("uid", [0, 1000])
def test_an_installed_chromium_is_left_alone(tmp_path: Path, uid: int) -> None:
    done, apt = make_chromium(tmp_path, uid=uid, command="sh")  # a command every machine has
    assert done.returncode == 0, done.stderr
    assert apt == ""


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
    assert not any("apt-get" in line or "install" in line for line in commands)
