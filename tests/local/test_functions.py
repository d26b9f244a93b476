"""The local platform's project functions are bounded by their reserved concurrency, as Lambda bounds
them: with every reserved instance busy, one more request is throttled at once (the router answers 503),
and the function serves again when an instance is free."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from battleshiper_cli.local.functions import ProjectFunctions
from lambdas.router import invoker as inv

SLOW = """export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.wait));
  return { statusCode: 200, body: 'done' };
};
"""


@pytest.fixture
def lambda_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        client = boto3.client("lambda")
        role = boto3.client("iam").create_role(RoleName="srv", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("index.mjs", SLOW)
        client.create_function(FunctionName="srv-shop", Runtime="nodejs22.x", Role=role,
                               Handler="index.handler", Code={"ZipFile": code.getvalue()})
        version = client.publish_version(FunctionName="srv-shop")["Version"]
        client.create_alias(FunctionName="srv-shop", Name="live", FunctionVersion=version)
        yield client


def call(functions: ProjectFunctions, wait: int) -> dict[str, Any]:
    return dict(json.loads(functions.invoke("srv-shop", "live", json.dumps({"wait": wait}).encode())))


def test_requests_beyond_the_reserved_concurrency_are_throttled(lambda_client: Any, tmp_path: Path) -> None:
    lambda_client.put_function_concurrency(FunctionName="srv-shop", ReservedConcurrentExecutions=1)
    functions = ProjectFunctions(lambda_client, tmp_path)
    try:
        assert call(functions, 0)["body"] == "done"  # the instance is up
        busy = threading.Thread(target=call, args=(functions, 1500))
        busy.start()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(inv.Throttled):
            call(functions, 0)
        assert time.monotonic() - started < 0.5  # refused at once, not queued behind the busy one
        busy.join()
        assert call(functions, 0)["body"] == "done"
    finally:
        functions.close()


def test_without_a_reservation_requests_are_not_throttled(lambda_client: Any, tmp_path: Path) -> None:
    functions = ProjectFunctions(lambda_client, tmp_path)
    try:
        busy = threading.Thread(target=call, args=(functions, 500))
        busy.start()
        time.sleep(0.2)
        assert call(functions, 0)["body"] == "done"
        busy.join()
    finally:
        functions.close()
