"""The KMS endpoint of the local project functions (issue 14): a worker's own credentials, the signature
checked, and the call made with the function's role as IAM holds it, so a function opens its own project's
configuration and is refused another's, as AWS refuses it."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from battleshiper_cli.local.aws import ACCOUNT, REGION
from battleshiper_cli.local.clients import LocalClients
from battleshiper_cli.local.function_kms import FunctionKms
from battleshiper_cli.local.iam.policy import Policy
from battleshiper_cli.local.iam.roles import iam_principal

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/project-boundary"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FunctionKms, str]]:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        kms, iam = boto3.client("kms"), boto3.client("iam")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        iam.create_role(RoleName="srv-shop-role", AssumeRolePolicyDocument="{}", PermissionsBoundary=BOUNDARY)
        iam.put_role_policy(RoleName="srv-shop-role", PolicyName="config", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key],
                "Condition": {"StringEquals": {"kms:EncryptionContext:battleshiper:project": "shop"}}}]}))
        boundary = Policy.from_document("boundary", {"Statement": [
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key]}]})
        role = f"arn:aws:iam::{ACCOUNT}:role/srv-shop-role"

        def principal_of(function: str) -> Any:
            return iam_principal(iam, role, function, {BOUNDARY: boundary}, ACCOUNT)

        gate = FunctionKms(principal_of, LocalClients)
        yield gate, key
        gate.close()


def decrypt(gate: FunctionKms, blob: bytes, context: dict[str, str], *, key: str = "",
            wrong_secret: bool = False, credentials: dict[str, str] | None = None,
            ) -> tuple[int, dict[str, Any]]:
    """A Decrypt as config.js sends it (the key named, signed with the worker's credentials)."""
    env = credentials or gate.credentials("srv-shop")
    url = env["AWS_ENDPOINT_URL_KMS"] + "/"
    body = json.dumps({"CiphertextBlob": base64.b64encode(blob).decode(), "EncryptionContext": context,
                       "KeyId": key})
    request = AWSRequest("POST", url, data=body.encode(), headers={
        "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.Decrypt"})
    secret = "not-the-secret" if wrong_secret else env["AWS_SECRET_ACCESS_KEY"]
    SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], secret), "kms", REGION).add_auth(request)
    sent = urllib.request.Request(url, data=request.body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_function_opens_its_own_projects_configuration_only(world: tuple[FunctionKms, str]) -> None:
    gate, key = world
    kms = boto3.client("kms")
    own = kms.encrypt(KeyId=key, Plaintext=b"k" * 32, EncryptionContext={"battleshiper:project": "shop"})
    other = kms.encrypt(KeyId=key, Plaintext=b"o" * 32, EncryptionContext={"battleshiper:project": "blog"})

    status, answer = decrypt(gate, own["CiphertextBlob"], {"battleshiper:project": "shop"}, key=key)
    assert status == 200, answer
    assert base64.b64decode(answer["Plaintext"]) == b"k" * 32
    status, answer = decrypt(gate, other["CiphertextBlob"], {"battleshiper:project": "blog"}, key=key)
    assert status == 400 and answer["__type"] == "AccessDeniedException"
    assert "kms:Decrypt" in answer["message"]


def test_the_signature_and_the_key_are_checked(world: tuple[FunctionKms, str]) -> None:
    gate, _ = world
    status, answer = decrypt(gate, b"x", {}, wrong_secret=True)
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    stranger = {**gate.credentials("srv-shop"), "AWS_ACCESS_KEY_ID": "ASIAUNKNOWN000000"}
    status, answer = decrypt(gate, b"x", {}, credentials=stranger)
    assert (status, answer["__type"]) == (400, "UnrecognizedClientException")
