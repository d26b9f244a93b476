"""Structured logs: one JSON object per line, so CloudWatch Logs Insights can query the fields."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def request_id(context: Any) -> str | None:
    """The invocation's request id (None outside Lambda, e.g. in the local platform's tests)."""
    return getattr(context, "aws_request_id", None)


def log(message: str, *, context: Any = None, level: str = "INFO", **fields: Any) -> None:
    """Write one log line; `fields` must be JSON-friendly (others are logged as their `str`)."""
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": level,
        "message": message,
        "request_id": request_id(context),
        **fields,
    }
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()
