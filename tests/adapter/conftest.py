"""Builds the sample app once per test session, for real: npm (locked dependencies), Vite, our adapter."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "web" / "adapter"
SAMPLE_APP = ROOT / "tests" / "fixtures" / "sample-app"


def npm() -> str:
    path = shutil.which("npm")
    if path is None:
        pytest.fail("npm is required to build the sample app")
    return path


def run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def ensure_node_modules(folder: Path) -> None:
    """`make node-deps` installs both; a plain `pytest` does it here when it has not run."""
    if not (folder / "node_modules" / ".package-lock.json").is_file():
        run([npm(), "ci", "--no-audit", "--no-fund"], folder)


@pytest.fixture(scope="session")
def sample_build() -> Path:
    ensure_node_modules(ADAPTER)
    ensure_node_modules(SAMPLE_APP)
    run([npm(), "run", "build"], SAMPLE_APP)
    out = SAMPLE_APP / "build"
    assert json.loads((out / "battleshiper.json").read_text())["pages"], "no prerendered pages were built"
    return out
