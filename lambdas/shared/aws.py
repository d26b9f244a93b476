"""The one factory of AWS clients. A function builds it from its environment (`Clients.from_environment`:
the execution role's credentials, the function's region); the local platform and the tests hand the
same handlers a subclass whose clients carry the role's IAM policy and reach moto or a local stand-in.
Clients are made once per (service, region) and shared, as boto3 clients are thread-safe."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config


def region_of(arn: str) -> str | None:
    """The region field of an ARN (None for a name or a global resource)."""
    parts = arn.split(":")
    return parts[3] or None if arn.startswith("arn:") and len(parts) > 3 else None


class Clients:
    def __init__(self, session: boto3.session.Session | None = None, endpoint_url: str | None = None) -> None:
        self.session = session or boto3.session.Session()
        self.endpoint_url = endpoint_url
        self._made: dict[tuple[str, str, str | None, int], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> Clients:
        """What Lambda gives a function: credentials, region (and any AWS_ENDPOINT_URL) in the environment."""
        return cls(boto3.session.Session())

    @property
    def region(self) -> str:
        return str(self.session.region_name or "us-east-1")

    def _make(self, kind: str, service: str, region: str | None, config: Config | None) -> Any:
        key = (kind, service, region, id(config))
        with self._lock:
            if key not in self._made:
                make = self.session.client if kind == "client" else self.session.resource
                self._made[key] = make(
                    service,
                    region_name=region or self.region,
                    endpoint_url=self.endpoint_url,
                    config=self.configure(config),
                )
            return self._made[key]

    def configure(self, config: Config | None) -> Config | None:
        """The client configuration to use for a caller's (subclasses add their defaults)."""
        return config

    def client(self, service: str, region: str | None = None, config: Config | None = None) -> Any:
        return self._make("client", service, region, config)

    def resource(self, service: str, region: str | None = None, config: Config | None = None) -> Any:
        return self._make("resource", service, region, config)
