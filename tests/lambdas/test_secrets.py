"""Secrets are read in the region their ARN names: the operator's GitHub App secret may live in another
region than the platform's functions."""

from __future__ import annotations

import boto3
from moto import mock_aws

from lambdas.shared.aws import Clients, region_of
from lambdas.shared.secrets import Secrets


def test_a_secret_in_another_region_is_read_there() -> None:
    with mock_aws():
        keys = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
        session = boto3.session.Session(region_name="us-east-1", **keys)
        arn = session.client("secretsmanager", region_name="eu-west-1").create_secret(
            Name="github-app", SecretString='{"secret": "s"}'
        )["ARN"]
        assert region_of(arn) == "eu-west-1"
        secrets = Secrets(Clients(session))  # the function's own region is us-east-1
        assert secrets.json(arn) == {"secret": "s"}
        assert secrets.signing_key(arn) == b"s"


def test_a_name_or_a_global_arn_has_no_region() -> None:
    assert region_of("battleshiper/ticket-key") is None
    assert region_of("arn:aws:iam::123456789012:role/x") is None
