"""Global options, the factory that builds the AWS clients every command needs, and the prompter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from battleshiper_cli.errors import AwsError
from battleshiper_cli.prompt import Prompter
from lambdas.shared.aws import Clients
from lambdas.shared.names import Names

if TYPE_CHECKING:
    from battleshiper_cli.local.control import LocalTarget

OutputFormat = Literal["text", "json"]

# What builds the commands' client factory from the global options. `battleshiper` builds an AWS one
# (`aws_clients`); a caller of the app (the tests) hands its own in as the Click context's `obj`.
ClientFactory = Callable[["Context"], Clients]
# Likewise what asks the operator (given `--yes` through the context); `battleshiper` asks on the terminal.
PrompterFactory = Callable[["Context"], Prompter]
RETRIES = botocore.config.Config(retries={"max_attempts": 8, "mode": "adaptive"})


@dataclass(frozen=True)
class Injected:
    """What a caller of the app (the tests) hands in as Click's `obj` in place of the real thing."""

    clients: ClientFactory | None = None
    prompter: PrompterFactory | None = None


@dataclass
class Context:
    profile: str | None = None
    region: str | None = None
    stack_name: str = "battleshiper"
    endpoint_url: str | None = None
    output: OutputFormat = "text"
    yes: bool = False
    verbose: bool = False
    local_dir: Path | None = None  # `--local`: the data folder of a running local platform
    factory: ClientFactory | None = field(default=None, repr=False)
    prompter_factory: PrompterFactory | None = field(default=None, repr=False)
    _session: Any = field(default=None, repr=False)
    _local: LocalTarget | None = field(default=None, repr=False)
    _clients: Clients | None = field(default=None, repr=False)
    _prompter: Prompter | None = field(default=None, repr=False)

    @property
    def local(self) -> LocalTarget | None:
        """The running local platform the commands talk to (`--local`), read from its state file."""
        if self.local_dir is None:
            return None
        if self._local is None:
            from battleshiper_cli.local.control import LocalTarget

            self._local = LocalTarget.load(self.local_dir)
            self.stack_name = self._local.stack
        return self._local

    @property
    def names(self) -> Names:
        return Names(self.stack_name)

    def session(self) -> boto3.session.Session:
        if self._session is None and self.local is not None:
            self._session = self.local.session()  # moto, with its dummy credentials and region
        if self._session is None:
            try:
                self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            except botocore.exceptions.ProfileNotFound as err:
                raise AwsError(str(err), hint="list profiles with `aws configure list-profiles`") from err
        return self._session

    @property
    def region_name(self) -> str:
        region = self.session().region_name
        if not region:
            raise AwsError("no AWS region configured", hint="pass --region or set AWS_REGION")
        return str(region)

    @property
    def clients(self) -> Clients:
        """The one factory every command's AWS client comes from."""
        if self._clients is None:
            if self.factory is not None:
                self._clients = self.factory(self)
            elif self.local is not None:
                self._clients = self.local.clients()  # moto, and the local platform's own stand-ins
            else:
                self._clients = _AwsClients(self.session(), self.endpoint_url)
        return self._clients

    @property
    def prompter(self) -> Prompter:
        """The one prompter every confirmation goes through."""
        if self._prompter is None:
            make = self.prompter_factory or (lambda c: Prompter(yes=c.yes))
            self._prompter = make(self)
        return self._prompter

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients.client(service, region or self.region_name)


class _AwsClients(Clients):
    """The operator's credentials (profile, region, endpoint), with adaptive retries."""

    def configure(self, config: botocore.config.Config | None) -> botocore.config.Config:
        return RETRIES.merge(config) if config else RETRIES
