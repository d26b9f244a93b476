"""Suite-wide: IAM as AWS evaluates it. Every call a platform function makes in any test is checked
against its role (`tests.support.platform.IAM`); a denied call fails the test that made it, unless the
test is marked `denied_by_iam` (and then it must have been denied)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import IAM

# Lambda's default account quota: moto then refuses a reservation that leaves fewer than 100 unreserved,
# as Lambda does (the local platform sets the same, `battleshiper_cli.local.aws.MotoServer`).
os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "denied_by_iam: the test expects AWS to refuse a call (AccessDenied)")


@pytest.fixture(autouse=True)
def iam_allows_every_call(request: pytest.FixtureRequest) -> Iterator[None]:
    seen = len(IAM.denials)
    yield
    new = IAM.denials[seen:]
    if request.node.get_closest_marker("denied_by_iam"):
        assert new, "the test expects a call to be denied, and none was"
    else:
        assert not new, "IAM denied a call the code makes:\n" + "\n".join(d.describe() for d in new)


ALLOWED_UNUSED = Path(__file__).with_name("iam_unused_grants.txt")


def _allowed_unused() -> dict[str, str]:
    """`<role>: <action>  # why it is granted though no test makes the call`, a line each."""
    entries = {}
    for line in ALLOWED_UNUSED.read_text().splitlines():
        grant, _, reason = line.partition("#")
        if grant.strip():
            entries[grant.strip()] = reason.strip()
    return entries


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite: every grant of a role the tests ran is used by some call, or is listed
    with its reason. (A part of the suite cannot tell, so it checks nothing.)"""
    config = session.config
    whole = not config.option.keyword and not config.option.markexpr and not config.option.deselect and (
        [Path(a).resolve() for a in config.args] in ([], [Path(config.rootpath, "tests").resolve()])
    )
    if not whole or exitstatus != 0 or not IAM.principals:
        return
    unused, allowed = set(IAM.unused()), _allowed_unused()
    unlisted = sorted(unused - set(allowed))
    stale = sorted(set(allowed) - unused)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if stale and reporter is not None:  # a listed grant that a test now uses: the line can go
        reporter.write_line("\n".join([f"Listed in {ALLOWED_UNUSED.name} but used now:", *stale]))
    if unlisted:
        lines = ["IAM grants no test used (remove them, or list them with a reason in "
                 f"{ALLOWED_UNUSED.name}):", *unlisted]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
