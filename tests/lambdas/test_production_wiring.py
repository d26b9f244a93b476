"""Each function group's handler as Lambda starts it: a fresh interpreter, only the environment the
template gives the function (plus what Lambda itself sets: region, credentials; AWS_ENDPOINT_URL points
boto3 at moto in server mode), the module's `handler` called with an event. Nothing is injected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from battleshiper_cli.local import aws as local_aws
from battleshiper_cli.local.aws import ACCOUNT, REGION, MotoServer
from battleshiper_cli.local.wiring import Wiring
from lambdas.shared import names
from lambdas.shared.names import Env
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template
from tests.support.events import DOMAIN, http_event

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[MotoServer, Wiring]]:
    server = MotoServer().start()
    config = PlatformConfig(artifacts=placeholder_artifacts())
    template = json.loads(build_platform_template(config).to_json())
    secret = server.client("secretsmanager").create_secret(Name="gh", SecretString="{}")["ARN"]
    parameters = {
        "Domain": DOMAIN, "AdminGitHubUser": "583231", "ArtifactsBucket": "artifacts",
        "GitHubSecretArn": secret,
        "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/a",
        "WildcardCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/b",
        "BuildSubnetZones": f"{REGION}a,{REGION}b",
    }
    resolver = local_aws.provision(server, template, parameters, names.DEFAULT_STACK_NAME)
    yield server, Wiring(template, resolver, endpoint_url=server.endpoint)
    server.stop()


def run_handler(server: MotoServer, wiring: Wiring, handler: str, event: dict[str, Any]) -> Any:
    function = wiring.by_handler(handler)
    module, name = function.handler.rsplit(".", 1)
    env = {
        **function.environment,
        "AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
    }
    code = (f"import json, sys; from {module} import {name}; "
            f"print(json.dumps({name}(json.loads(sys.stdin.read()), None)))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(event), env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def origin_secret(server: MotoServer, wiring: Wiring, handler: str) -> str:
    arn = wiring.by_handler(handler).environment[Env.ORIGIN_SECRET_ARN]
    return str(server.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def test_an_api_function_reads_its_origin_secret_and_its_tables(moto: tuple[MotoServer, Wiring]) -> None:
    server, wiring = moto
    handler = "lambdas.api.resource.handler"
    secret = origin_secret(server, wiring, handler)
    direct = run_handler(server, wiring, handler, http_event("GET", "/api/resource/listproject"))
    assert direct["statusCode"] == 403  # not through the dashboard CDN
    event = http_event("GET", "/api/resource/listproject", headers={names.ORIGIN_SECRET_HEADER: secret})
    assert run_handler(server, wiring, handler, event)["statusCode"] == 401  # no session


def test_the_webhook_refuses_an_unsigned_delivery(moto: tuple[MotoServer, Wiring]) -> None:
    server, wiring = moto
    event = http_event("POST", "/api/pipeline/event", body="{}", headers={"x-github-event": "ping"})
    assert run_handler(server, wiring, "lambdas.api.webhook.handler", event)["statusCode"] == 401


def test_the_router_answers_for_a_project_without_a_deployment(moto: tuple[MotoServer, Wiring]) -> None:
    server, wiring = moto
    handler = "lambdas.router.handler.handler"
    secret = origin_secret(server, wiring, handler)
    event = http_event("GET", "/", headers={names.ORIGIN_SECRET_HEADER: secret, names.PROJECT_HEADER: "shop"})
    answer = run_handler(server, wiring, handler, event)
    assert answer["statusCode"] in (404, 502, 503)


@pytest.mark.parametrize("group", ["init", "deploy", "delete"])
def test_a_pipeline_function_starts_and_ignores_a_foreign_event(
    moto: tuple[MotoServer, Wiring], group: str
) -> None:
    server, wiring = moto
    event = {"id": "e", "source": "someone.else", "detail-type": "x", "detail": {}}
    assert run_handler(server, wiring, f"lambdas.pipeline.{group}.handler", event) is None


def test_a_release_hook_reports_to_codedeploy(moto: tuple[MotoServer, Wiring]) -> None:
    server, wiring = moto
    event = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}
    handler = "lambdas.hooks.post_traffic.handler"
    # The dashboard bucket is empty: nothing to prune, and the report reaches CodeDeploy's API.
    try:
        answer = run_handler(server, wiring, handler, event)
    except AssertionError as err:  # moto has no CodeDeploy lifecycle API: the call itself was made
        assert "PutLifecycleEventHookExecutionStatus" in str(err)
    else:
        assert answer == {"status": "Succeeded"}
