"""The layout's rules, as a test: the import contracts in pyproject.toml (import-linter) hold, each of
them breaks when someone adds the import it forbids, and no module outside the tests is over 400 lines."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("battleshiper_cli", "templates", "lambdas")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 400
SKIPPED = {"tests", "node_modules", ".venv", ".battleshiper", "build", "dist"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def broken(output: str) -> set[str]:
    return set(re.findall(r"^(.+) BROKEN", output, re.MULTILINE))


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


@pytest.fixture(scope="module")
def contracts() -> dict[str, str]:
    """Contract id → name, from pyproject.toml."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    return {c["id"]: c["name"] for c in config}


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("lambdas/shared/log.py", "import battleshiper_cli.errors", {"lambdas"}),
    ("lambdas/shared/log.py", "import troposphere", {"lambdas"}),
    ("templates/ids.py", "import boto3", {"templates"}),
    # The CLI reads the templates, so through them it would reach a function group too.
    ("templates/ids.py", "import lambdas.pipeline.deploy", {"templates", "stand-ins"}),
    ("lambdas/api/views.py", "import lambdas.pipeline.deploy", {"groups"}),
    ("battleshiper_cli/status.py", "import moto", {"stand-ins"}),
    ("battleshiper_cli/status.py", "import lambdas.router.router", {"stand-ins"}),
])
def test_each_contract_breaks_when_its_forbidden_import_is_added(
    tmp_path: Path, contracts: dict[str, str], module: str, line: str, expected: set[str],
) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # added by the test\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert broken(done.stdout) == {contracts[c] for c in expected}, done.stdout


def test_no_module_outside_the_tests_is_over_400_lines() -> None:
    long = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIPPED.intersection(relative.parts):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long[str(relative)] = lines
    assert long == {}, f"split these modules by concept: {long}"
