"""Global options and the factory that builds the AWS clients every command needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from battleshiper_cli.errors import AwsError
from lambdas.shared.names import Names

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
    _session: Any = field(default=None, repr=False)

    @property
    def names(self) -> Names:
        return Names(self.stack_name)

    def session(self) -> boto3.session.Session:
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

    def client(self, service: str, region: str | None = None) -> Any:
        if service in CLIENT_OVERRIDES:
            return CLIENT_OVERRIDES[service]
        config = botocore.config.Config(retries={"max_attempts": 8, "mode": "adaptive"})
        return self.session().client(
            service,
            region_name=region or self.region_name,
            endpoint_url=self.endpoint_url,
            config=config,
        )
