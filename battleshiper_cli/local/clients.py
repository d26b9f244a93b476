"""The client factory of the local platform and the tests: moto (in-process or server mode) for the
AWS APIs, local stand-ins for what moto lacks (the bus's delivery, project stacks, the route store's
data plane, CodeDeploy), and on every client the IAM of the role the caller runs as, so a call the
templates do not grant fails here as it fails on AWS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config

from battleshiper_cli.local.iam.actions import Where
from battleshiper_cli.local.iam.enforce import Enforcer, Guarded, Lookup, Principal, Recorder, attach
from lambdas.shared.aws import Clients

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# moto answers its own bugs with HTML 500s: never retry them into a slow failure.
CLIENT_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=64)

# moto's error codes where AWS answers another (the code checks AWS's).
MOTO_CODES = {("lambda", "ConflictException"): "ResourceConflictException"}


def _translate_moto_errors(session: boto3.session.Session) -> None:
    def after_call(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        if error:
            code = MOTO_CODES.get((model.service_model.service_name, error.get("Code")))
            if code:
                error["Code"] = code

    session._session.get_component("event_emitter").register("after-call", after_call)


class LocalClients(Clients):
    def __init__(
        self,
        principal: Principal,
        *,
        endpoint_url: str | None = None,
        stand_ins: Mapping[str, Any] | None = None,
        recorder: Recorder | None = None,
        log: Callable[[str], None] | None = None,
        lookups: Mapping[tuple[str, str], Lookup] | None = None,
    ) -> None:
        session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
        self.enforcer = Enforcer(principal, Where(REGION, ACCOUNT), recorder, log, dict(lookups or {}))
        attach(session, self.enforcer)
        _translate_moto_errors(session)
        super().__init__(session, endpoint_url)
        self.stand_ins = dict(stand_ins or {})

    def client(self, service: str, region: str | None = None, config: Config | None = None) -> Any:
        if service in self.stand_ins:
            return Guarded(self.stand_ins[service], service, self.enforcer, region)
        return super().client(service, region, config)

    def configure(self, config: Config | None) -> Config:
        return CLIENT_CONFIG.merge(config) if config else CLIENT_CONFIG
