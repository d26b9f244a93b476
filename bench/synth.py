"""Synthesis time of the platform template from packaged artifacts (packaging is done first and
not counted).

Run: python bench/synth.py
"""

from __future__ import annotations

import statistics
import time

from battleshiper_cli.packaging import package_all
from battleshiper_cli.synthesis import platform_config, render
from templates.platform import build_platform_template

ROUNDS = 10


def main() -> None:
    config = platform_config("battleshiper", package_all("battleshiper"))
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        body = render(build_platform_template(config))
        times.append(time.perf_counter() - start)
    print(f"platform template synthesis: median {statistics.median(times) * 1000:.1f} ms, "
          f"min {min(times) * 1000:.1f} ms over {ROUNDS} rounds ({len(body)} bytes)")


if __name__ == "__main__":
    main()
