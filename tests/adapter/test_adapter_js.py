"""The adapter's own JavaScript tests (Node's test runner), run from pytest, and a check that the adapter
writes the layout the platform's names describe."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lambdas.shared import names
from tests.adapter.conftest import ADAPTER, ensure_node_modules


def test_adapter_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required")
    ensure_node_modules(ADAPTER)
    result = subprocess.run([node, "--test", "test/"], cwd=ADAPTER, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_adapter_writes_the_layout_the_platform_expects() -> None:
    source = (ADAPTER / "index.js").read_text()
    constants = dict(re.findall(r"export const (\w+) = '([^']*)';", source))
    assert constants == {
        "CLIENT_DIR": names.BUILD_CLIENT_DIR,
        "PRERENDERED_DIR": names.BUILD_PRERENDERED_DIR,
        "SERVER_ZIP": names.BUILD_SERVER_ZIP,
        "MANIFEST_FILE": names.BUILD_MANIFEST_FILE,
        "HANDLER_FILE": names.SERVER_HANDLER_FILE,
    }


def test_the_handler_uses_the_platform_names_for_the_origin_secret() -> None:
    source = (ADAPTER / "files" / "lambda.js").read_text()
    assert f"const ORIGIN_SECRET_HEADER = '{names.ORIGIN_SECRET_HEADER}';" in source
    assert f"const ORIGIN_SECRET_ENV = '{names.Env.ORIGIN_SECRET}';" in source
