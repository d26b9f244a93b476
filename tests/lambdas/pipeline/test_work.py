"""The deploy's work folder goes in every path; folders of killed invocations go at the next deploy."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lambdas.pipeline import work


def test_the_folder_is_removed_after_success_and_failure(tmp_path: Path) -> None:
    with work.folder(str(tmp_path)) as done:
        (done / "f").write_bytes(b"x")
    with pytest.raises(RuntimeError), work.folder(str(tmp_path)) as failed:
        (failed / "f").write_bytes(b"x")
        raise RuntimeError
    assert not done.exists() and not failed.exists()


def test_only_folders_older_than_an_invocation_are_cleared(tmp_path: Path) -> None:
    old = tmp_path / f"{work.WORK_PREFIX}old"
    (old / "client").mkdir(parents=True)
    stale = time.time() - work.STALE_SECONDS - 10
    os.utime(old, (stale, stale))
    running = tmp_path / f"{work.WORK_PREFIX}running"  # another deploy's, in the local platform
    running.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    os.utime(other, (stale, stale))
    assert work.clear_stale(str(tmp_path)) == [old]
    assert not old.exists() and running.exists() and other.exists()
