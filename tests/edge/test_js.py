"""The edge functions' JavaScript tests (Node's test runner), run from pytest so one command covers
everything, and a check that the Node harness renders the sources exactly as the template loader does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lambdas.shared import names
from templates import cloudfront_functions

ROOT = Path(__file__).resolve().parents[2]
EDGE_TESTS = Path(__file__).resolve().parent


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("Node.js is required for the edge function tests")
    return path


def test_node_edge_tests_pass() -> None:
    result = subprocess.run([node(), "--test", str(EDGE_TESTS)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


@pytest.mark.parametrize("name", sorted(cloudfront_functions.FUNCTIONS))
def test_node_harness_runs_the_code_cloudformation_would_deploy(name: str) -> None:
    kvs_id, domain = "0f0e0d0c-1111-4222-8333-444455556666", "apps.example.org"
    result = subprocess.run([node(), str(EDGE_TESTS / "render.mjs"), name, kvs_id, domain], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout == cloudfront_functions.render(name, kvs_id, domain)


def test_edge_functions_use_the_platform_names() -> None:
    code = "".join(cloudfront_functions.source(name) for name in cloudfront_functions.FUNCTIONS)
    for value in (
        names.ALIAS_KEY_PREFIX,
        names.LIVE_KEY_PREFIX,
        names.PAGE_KEY_PREFIX,
        names.PROJECT_HEADER,
        names.DEPLOYMENT_HEADER,
        names.PAGE_HEADER,
        names.FORWARDED_HOST_HEADER,
        names.ORIGIN_SECRET_HEADER,
    ):
        assert f"'{value}'" in code, value
