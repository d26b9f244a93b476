"""The deploy's work folder: the build output extracted to disk (Lambda's ephemeral storage, `/tmp`),
removed when the deploy ends, whatever the outcome.

A folder outlives its deploy only when the invocation was killed (timeout, out of memory): Lambda
keeps `/tmp` for the next invocation in the same environment, so each deploy first removes folders
older than any live invocation can be (the function's timeout).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lambdas.pipeline.output import WORK_PREFIX

STALE_SECONDS = 900 + 60  # the pipeline functions' timeout, and a margin


@contextmanager
def folder(parent: str | None = None) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def clear_stale(parent: str | None = None, now: float | None = None) -> list[Path]:
    """Remove the work folders of killed invocations; returns them."""
    removed = []
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    for path in Path(parent or tempfile.gettempdir()).glob(f"{WORK_PREFIX}*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        except OSError:
            continue  # gone meanwhile
    return removed
