"""Global options and the factory that builds the AWS clients every command needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from battleshiper_cli.errors import AwsError
from lambdas.shared.aws import Clients
from lambdas.shared.names import Names

if TYPE_CHECKING:
    from battleshiper_cli.local.control import LocalTarget

OutputFormat = Literal["text", "json"]

# Clients by service name that replace the boto3 ones: tests put fakes here for what no emulator
# covers (CloudFormation change sets, stack events, rollbacks). Empty in normal use.
CLIENT_OVERRIDES: dict[str, Any] = {}


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
    _session: Any = field(default=None, repr=False)
    _local: LocalTarget | None = field(default=None, repr=False)

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
        """The commands' client factory, for the platform's own functions that take one."""
        return _ContextClients(self)

    def client(self, service: str, region: str | None = None) -> Any:
        if service in CLIENT_OVERRIDES:
            return CLIENT_OVERRIDES[service]
        remote = self.local.client(service) if self.local is not None else None
        if remote is not None:  # held in the local platform's memory, not in moto
            return remote
        config = botocore.config.Config(retries={"max_attempts": 8, "mode": "adaptive"})
        return self.session().client(
            service,
            region_name=region or self.region_name,
            endpoint_url=self.endpoint_url,
            config=config,
        )


class _ContextClients(Clients):
    def __init__(self, context: Context) -> None:
        super().__init__(context.session(), context.endpoint_url)
        self.context = context

    def client(self, service: str, region: str | None = None, config: Any = None) -> Any:
        return self.context.client(service, region)
