"""The CLI as the tests run it: `battleshiper`'s app with a client factory and a prompter handed in at the
entry point (as Click's `obj`). A test may replace a service nothing emulates (CloudFormation change sets
and stack events, throttling Logs) by a fake in `FAKES`; every other client is boto3's (moto)."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from battleshiper_cli.context import Context, Injected, PrompterFactory, _AwsClients
from battleshiper_cli.prompt import Prompter
from lambdas.shared.aws import Clients

FAKES: dict[str, Any] = {}  # service -> fake client, for one test (set with monkeypatch.setitem)


class _WithFakes(_AwsClients):
    def client(self, service: str, region: str | None = None, config: Any = None) -> Any:
        return FAKES[service] if service in FAKES else super().client(service, region, config)


def factory(context: Context) -> Clients:
    if context.local is not None:
        return context.local.clients()
    return _WithFakes(context.session(), context.endpoint_url)


def on_terminal(context: Context) -> Prompter:
    """As on a terminal: questions are asked, and the answers are read from the runner's input."""
    return Prompter(yes=context.yes, interactive=True)


class Runner(CliRunner):
    # None: `battleshiper`'s own prompter, which finds no terminal (CliRunner's stdin is never one).
    prompter: PrompterFactory | None = None

    def invoke(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("obj", Injected(clients=factory, prompter=self.prompter))
        return super().invoke(*args, **kwargs)
