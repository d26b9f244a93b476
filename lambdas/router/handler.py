"""The router behind the project CDN (HTTP API, payload 2.0): see `router.py`.

Clients and the origin secret are set up once per container, on the first request, so importing this
module costs little more than importing boto3 (measured by bench/router.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.config import Config

from lambdas.router.invoker import LambdaInvoker
from lambdas.router.pages import S3Pages
from lambdas.router.router import Router
from lambdas.shared.aws import Clients
from lambdas.shared.entry import Handler, lambda_handler
from lambdas.shared.names import Env
from lambdas.shared.secrets import Secrets

# Give up on the function before API Gateway (30 s) and the router (29 s) do, so the viewer gets our
# 504; never retry: a form post must not run twice.
INVOKE_CONFIG = Config(
    connect_timeout=3, read_timeout=26, retries={"total_max_attempts": 1, "mode": "standard"}
)

def create(env: Mapping[str, str], clients: Clients) -> Handler:
    secrets = Secrets(clients)
    secret_arn = env[Env.ORIGIN_SECRET_ARN]
    router = Router(
        origin_secret=lambda: secrets.string(secret_arn),
        pages=S3Pages(clients.client("s3"), env[Env.PROJECT_BUCKET]),
        invoker=LambdaInvoker(clients.client("lambda", config=INVOKE_CONFIG)),
        function_prefix=env[Env.PROJECT_FUNCTION_PREFIX],
    )
    return router.handle


handler = lambda_handler(create)
