"""The platform's functions in tests, wired as Lambda wires them: the synthesized template is
provisioned into moto (in this process), each function gets the environment the template gives it and
a client factory that carries its role's IAM, recorded by the suite's one recorder (`IAM`): a call a
role does not grant fails the test that made it, and the grants no test used are listed at the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from battleshiper_cli.local import aws as local_aws
from battleshiper_cli.local.clients import ACCOUNT, CREDENTIALS, REGION
from battleshiper_cli.local.control import RouteStoreApi
from battleshiper_cli.local.iam.enforce import Recorder
from battleshiper_cli.local.routes import MemoryRouteStore
from battleshiper_cli.local.wiring import Wiring, role_lookup
from lambdas.shared import names
from lambdas.shared.aws import Clients
from lambdas.shared.deps import Deps
from lambdas.shared.entry import Handler
from lambdas.shared.names import Env
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from templates.project import build_project_template

IAM = Recorder()  # every call of every function in the whole session
STACK = names.DEFAULT_STACK_NAME
DOMAIN = "ship.example.com"
ADMIN = "2001"  # the numeric GitHub id setup resolves the admin login to


def admin_clients() -> Clients:
    """Unrestricted clients: what a test uses to set up and to look, never what a function gets."""
    return Clients(boto3.session.Session(region_name=REGION, **CREDENTIALS))


@dataclass
class TestPlatform:
    """One provisioned platform (inside an active `mock_aws`)."""

    template: dict[str, Any]
    wiring: Wiring
    routes: MemoryRouteStore
    admin: Clients = field(default_factory=admin_clients)

    @property
    def resolver(self) -> Any:
        return self.wiring.resolver

    def env(self, handler: str) -> dict[str, str]:
        return self.wiring.by_handler(handler).environment

    def logical_id(self, handler: str) -> str:
        return self.wiring.by_handler(handler).logical_id

    def handler(self, handler: str, changes: dict[str, str] | None = None, **options: Any) -> Handler:
        """The function whose template handler is `handler` (e.g. "lambdas.api.auth.handler")."""
        return self.wiring.handler(self.logical_id(handler), changes, **options)

    def deps(self, handler: str, **overrides: Any) -> Deps:
        """The pipeline dependencies exactly as the function's `create` builds them (plus clock and
        sleep seams), with the function's environment and role."""
        function = self.wiring.by_handler(handler)
        clients = self.wiring.clients(self.wiring.principal(function.logical_id))
        return Deps(function.environment, clients, **overrides)

    def store(self) -> Store:
        """Every table, for setting up and looking (no one function's environment names them all)."""
        env: dict[str, str] = {}
        for function in self.wiring.functions().values():
            env.update(function.environment)
        return Store(self.admin.resource("dynamodb"), env)

    def secret(self, env_variable: str) -> str:
        return Secrets(self.admin).string(self.env("lambdas.api.resource.handler")[env_variable])

    def put_secret(self, arn: str, value: str) -> None:
        self.admin.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)


def provision(
    *,
    github_secret: dict[str, str],
    extra_env: dict[str, dict[str, str]] | None = None,
    stand_ins: dict[str, Any] | None = None,
    recorder: Recorder = IAM,
    log: Callable[[str], None] | None = None,
) -> TestPlatform:
    """Provision the platform template into the active moto mock (region us-east-1)."""
    config = PlatformConfig(stack_name=STACK, artifacts=placeholder_artifacts())
    template = json.loads(build_platform_template(config).to_json())
    admin = admin_clients()
    artifacts = names.Names(STACK).artifacts_bucket(ACCOUNT, REGION)
    admin.client("s3").create_bucket(Bucket=artifacts)
    admin.client("s3").put_object(
        Bucket=artifacts,
        Key=config.artifact("project-template").key,
        Body=build_project_template(config).to_json().encode(),
    )
    secret = admin.client("secretsmanager").create_secret(
        Name=f"{STACK}-github-app", SecretString=json.dumps(github_secret)
    )["ARN"]
    parameters = {
        "Domain": DOMAIN,
        "AdminGitHubUser": ADMIN,
        "ArtifactsBucket": artifacts,
        "GitHubSecretArn": secret,
        "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/test",
        "WildcardCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/test-wildcard",
        "BuildSubnetZones": f"{REGION}a,{REGION}b",
    }
    resolver = local_aws.provision(admin, template, parameters, STACK)
    routes = MemoryRouteStore()
    kvs = RouteStoreApi(routes, names.Names(STACK).route_store, resolver.get_att("RouteStore", "Arn"))
    wiring = Wiring(
        template,
        resolver,
        stand_ins={"cloudfront-keyvaluestore": kvs, **(stand_ins or {})},
        recorder=recorder,
        log=log,
        extra_env=extra_env or {},
        lookups={("iam", "*"): role_lookup(admin.client("iam"))},
    )
    return TestPlatform(template, wiring, routes, admin)


__all__ = ["ADMIN", "DOMAIN", "IAM", "STACK", "Env", "TestPlatform", "provision"]
