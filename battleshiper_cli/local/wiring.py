"""Functions of a synthesized template, wired as Lambda wires them: the handler module's `create` with
the environment the template gives the function and a client factory that carries the function's role
(its IAM enforced) and reaches moto or the local stand-ins. The local platform and the tests both
build their functions here."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from battleshiper_cli.local.clients import ACCOUNT, LocalClients
from battleshiper_cli.local.iam.enforce import Lookup, Principal, Recorder
from battleshiper_cli.local.iam.roles import function_principal, role_principal
from lambdas.router import invoker as inv
from lambdas.shared.entry import Handler


@dataclass
class Function:
    logical_id: str
    name: str
    handler: str  # "lambdas.api.auth.handler"
    environment: dict[str, str]


@dataclass
class Wiring:
    template: Mapping[str, Any]
    resolver: Any  # battleshiper_cli.local.aws.Resolver
    endpoint_url: str | None = None  # moto in server mode; None: moto in this process
    stand_ins: dict[str, Any] = field(default_factory=dict)
    recorder: Recorder | None = None
    log: Callable[[str], None] | None = None
    # What only the local platform adds to a function's environment (where the GitHub stand-in is),
    # by handler; "" applies to every function.
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    lookups: dict[tuple[str, str], Lookup] = field(default_factory=dict)

    def functions(self) -> dict[str, Function]:
        found = {}
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function" and "Handler" in resource["Properties"]:
                props = resource["Properties"]
                variables = self.resolver.resolve((props.get("Environment") or {}).get("Variables", {}))
                found[logical_id] = Function(
                    logical_id,
                    str(self.resolver.resolve(props.get("FunctionName", logical_id))),
                    props["Handler"],
                    {
                        **{k: str(v) for k, v in variables.items()},
                        **self.extra_env.get("", {}),
                        **self.extra_env.get(props["Handler"], {}),
                    },
                )
        return found

    def function(self, logical_id: str) -> Function:
        return self.functions()[logical_id]

    def by_handler(self, handler: str) -> Function:
        return next(f for f in self.functions().values() if f.handler == handler)

    def principal(self, logical_id: str) -> Principal:
        return function_principal(self.template, self.resolver, logical_id, self.function(logical_id).name,
                                  ACCOUNT)

    def role(self, role_id: str, session: str) -> Principal:
        return role_principal(self.template, self.resolver, role_id, session, ACCOUNT)

    def clients(self, principal: Principal, stand_ins: Mapping[str, Any] | None = None) -> LocalClients:
        return LocalClients(
            principal,
            endpoint_url=self.endpoint_url,
            stand_ins={**self.stand_ins, **(stand_ins or {})},
            recorder=self.recorder,
            log=self.log,
            lookups=self.lookups,
        )

    def handler(self, logical_id: str, changes: Mapping[str, str] | None = None, **options: Any) -> Handler:
        """The function as Lambda runs it, in a new container (`changes` to its environment, as an
        operator's edit would make them; `options`: a clock for the API functions' tests)."""
        function = self.function(logical_id)
        module = importlib.import_module(function.handler.rsplit(".", 1)[0])
        create: Callable[..., Handler] = module.create
        environment = {**function.environment, **(changes or {})}
        return create(environment, self.clients(self.principal(logical_id)), **options)


class LocalLambda:
    """Lambda's API over moto, with `Invoke` run by the local function runner (moto cannot run a
    function without Docker); failures come back as Lambda reports them."""

    def __init__(self, moto_lambda: Any, run: Callable[[str, str, bytes], bytes]) -> None:
        self._moto, self._run = moto_lambda, run
        self.meta, self.exceptions = moto_lambda.meta, moto_lambda.exceptions

    def invoke(
        self, FunctionName: str, Payload: bytes = b"", Qualifier: str = "$LATEST", **_: Any
    ) -> dict[str, Any]:
        error: str | None = None
        try:
            body = self._run(FunctionName, Qualifier, Payload)
        except inv.FunctionNotFound as err:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": str(err)}},
                              "Invoke") from err
        except inv.FunctionTimedOut as err:
            body, error = _error("Sandbox.Timedout", f"Task timed out: {err}"), "Unhandled"
        except inv.ResponseTooLarge as err:
            body, error = _error("Function.ResponseSizeTooLarge", str(err)), "Unhandled"
        except inv.FunctionFailed as err:
            body, error = _error("Error", str(err)), "Unhandled"
        response: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if error:
            response["FunctionError"] = error
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._moto, name)


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"errorType": kind, "errorMessage": message}).encode()


def role_lookup(iam: Any) -> Lookup:
    """What IAM knows of an existing role that a call names only by RoleName: its ARN and boundary."""

    def lookup(_service: str, params: dict[str, Any]) -> None:
        if "RoleName" not in params or "Path" in params:
            return
        try:
            role = iam.get_role(RoleName=params["RoleName"])["Role"]
        except ClientError:
            return  # IAM authorizes the name alone; the call then fails on its own
        params["__role_arn"] = role["Arn"]
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if boundary:
            params["__role_boundary"] = boundary

    return lookup
