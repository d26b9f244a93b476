"""The router behind the project CDN (payload 2.0 HTTP API).

First version: answers 503 until the Project edge lands.
"""

from __future__ import annotations

from typing import Any

from lambdas.shared.http import error_response


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return error_response(503, "not_available", "This site is not available yet.")
