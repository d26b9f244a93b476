"""Packaging time: a cold build into a fresh directory (downloads the layer's wheels), then a warm
run over the same directory, which must rebuild nothing.

Run: python bench/package.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from battleshiper_cli.packaging import package_all


def timed(build_dir: Path) -> tuple[float, int]:
    log: list[str] = []
    start = time.perf_counter()
    package_all("battleshiper", build_dir, log=log.append)
    return time.perf_counter() - start, sum(": built " in line for line in log)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold, built = timed(Path(tmp))
        warm, rebuilt = timed(Path(tmp))
    print(f"cold packaging: {cold:.2f} s ({built} artifacts built)")
    print(f"warm packaging: {warm:.3f} s ({rebuilt} artifacts rebuilt)")
    if rebuilt:
        raise SystemExit("a warm run must rebuild nothing")


if __name__ == "__main__":
    main()
