"""Suite-wide: IAM as AWS evaluates it. Every call a platform function makes in any test is checked
against its role (`tests.support.platform.IAM`); a denied call fails the test that made it, unless the
test is marked `denied_by_iam` (and then it must have been denied)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.platform import IAM


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
