"""The signed-in user: profile, roles, subscription limits and usage.

Users are registered at their first sign-in (`auth.callback`), so `registeruser` only confirms the
registration; it stays for the dashboard's reference flow.
"""

from __future__ import annotations

from typing import Any

from lambdas.api.context import api_function, authenticate, deps_of
from lambdas.api.views import subscription_view, user_view
from lambdas.shared.api import Request
from lambdas.shared.entry import lambda_handler
from lambdas.shared.http import json_response
from lambdas.shared.models import User


def _info(request: Request, user: User) -> dict[str, Any]:
    deps = deps_of(request)
    subscription = deps.store.subscriptions.get(id=user.subscription_id) if user.subscription_id else None
    today = int(deps.now()) // 86400 * 86400
    builds_today = user.build_counter.count if user.build_counter.window_start >= today else 0
    return {
        **user_view(user),
        "subscription": subscription_view(subscription) if subscription else None,
        "usage": {"project_count": user.project_count, "builds_today": builds_today},
    }


def fetchinfo(request: Request) -> dict[str, Any]:
    return json_response(200, _info(request, authenticate(request)))


def registeruser(request: Request) -> dict[str, Any]:
    user = authenticate(request)
    return json_response(200, {"message": "registered", "user": _info(request, user)})


ROUTES = {
    "GET /api/user/fetchinfo": fetchinfo,
    "POST /api/user/registeruser": registeruser,
}


create = api_function(ROUTES)
handler = lambda_handler(create)
