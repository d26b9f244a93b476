"""Debian's Chromium for the dashboard's browser scripts (`make test` installs it when it is missing)."""

from __future__ import annotations

import os
import shutil


def chromium_env() -> dict[str, str]:
    """The environment for a browser script: this process's, plus where Chromium is."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: `make test` installs it (or run `apt-get install chromium`)"
    return {**os.environ, "BATTLESHIPER_CHROMIUM": path}
