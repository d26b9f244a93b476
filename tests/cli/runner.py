"""The CLI as the tests run it: `battleshiper`'s app with a client factory handed in at the entry point
(as Click's `obj`), where a test may replace a service nothing emulates (CloudFormation change sets and
stack events, throttling Logs) by a fake in `FAKES`; every other client is boto3's (moto)."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from battleshiper_cli.context import Context, _AwsClients
from lambdas.shared.aws import Clients

FAKES: dict[str, Any] = {}  # service -> fake client, for one test (set with monkeypatch.setitem)


class _WithFakes(_AwsClients):
    def client(self, service: str, region: str | None = None, config: Any = None) -> Any:
        return FAKES[service] if service in FAKES else super().client(service, region, config)


def factory(context: Context) -> Clients:
    if context.local is not None:
        return context.local.clients()
    return _WithFakes(context.session(), context.endpoint_url)


class Runner(CliRunner):
    def invoke(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("obj", factory)
        return super().invoke(*args, **kwargs)
