"""The dashboard's logic (validation, API error mapping, polling): its vitest suite, run from pytest."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "web" / "dashboard"


def test_vitest_suite_passes() -> None:
    if not (DASHBOARD / "node_modules" / "vitest").is_dir():
        pytest.fail("web/dashboard has no node_modules: run `make node-deps`")
    result = subprocess.run(["npx", "vitest", "run", "--reporter=dot"], cwd=DASHBOARD, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
