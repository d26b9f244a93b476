"""Secrets Manager values, read once per container (each function reads the few it is allowed to).
Each secret is read in its own region, the one its ARN names: the GitHub App secret may live in
another region than the platform."""

from __future__ import annotations

import json
import threading
from typing import Any

from lambdas.shared.aws import Clients, region_of


class Secrets:
    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def string(self, arn: str) -> str:
        with self._lock:
            if arn not in self._values:
                client = self._clients.client("secretsmanager", region=region_of(arn))
                self._values[arn] = str(client.get_secret_value(SecretId=arn)["SecretString"])
            return self._values[arn]

    def json(self, arn: str) -> dict[str, Any]:
        value = json.loads(self.string(arn))
        if not isinstance(value, dict):
            raise ValueError("secret is not a JSON object")
        return value

    def signing_key(self, arn: str) -> bytes:
        """The generated key secrets of the platform hold `{"secret": "..."}`."""
        return str(self.json(arn)["secret"]).encode()
