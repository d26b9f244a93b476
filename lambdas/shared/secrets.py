"""Secrets Manager values, read once per container (each function reads the few it is allowed to)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3


@cache
def secret_string(arn: str) -> str:
    # The value is cached per container; the client is not, so it always follows the current default
    # session (the CLI points that at the operator's profile, region and endpoint).
    return str(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def secret_json(arn: str) -> dict[str, Any]:
    value = json.loads(secret_string(arn))
    if not isinstance(value, dict):
        raise ValueError("secret is not a JSON object")
    return value


def signing_key(arn: str) -> bytes:
    """The generated key secrets of the platform hold `{"secret": "..."}`."""
    return str(secret_json(arn)["secret"]).encode()
