"""Where the CLI prints: Rich for people, JSON for scripts (stdout), diagnostics on stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

# emoji=False: ARNs contain ":secret:" and similar, which Rich would turn into emoji.
console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
stdout = Console(highlight=False, soft_wrap=True, emoji=False)


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))
