"""The router behind the project CDN (HTTP API, payload 2.0): see `router.py`.

Clients and the origin secret are set up once per container, on the first request, so importing this
module costs little more than importing boto3 (measured by bench/router.py).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

from lambdas.router.invoker import LambdaInvoker
from lambdas.router.pages import S3Pages
from lambdas.router.router import Router
from lambdas.shared.names import Env
from lambdas.shared.secrets import secret_string

# Give up on the function before API Gateway (30 s) and the router (29 s) do, so the viewer gets our
# 504; never retry: a form post must not run twice.
INVOKE_CONFIG = Config(
    connect_timeout=3, read_timeout=26, retries={"total_max_attempts": 1, "mode": "standard"}
)

_router: Router | None = None


def build_router(env: Any = os.environ) -> Router:
    secret_arn = env[Env.ORIGIN_SECRET_ARN]
    return Router(
        origin_secret=lambda: secret_string(secret_arn),
        pages=S3Pages(boto3.client("s3"), env[Env.PROJECT_BUCKET]),
        invoker=LambdaInvoker(boto3.client("lambda", config=INVOKE_CONFIG)),
        function_prefix=env[Env.PROJECT_FUNCTION_PREFIX],
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _router
    if _router is None:
        _router = build_router()
    return _router.handle(event, context)
