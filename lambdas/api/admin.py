"""Administration: users, roles, subscriptions and platform logs.

First version: the route answers 503 until the Platform API lands.
"""

from __future__ import annotations

from typing import Any

from lambdas.shared.http import error_response


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return error_response(503, "not_available", "The administration API is not available yet.")
