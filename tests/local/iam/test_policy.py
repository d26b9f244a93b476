"""The IAM evaluator against AWS's documented evaluation logic for identity-based policies."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from battleshiper_cli.local.clients import LocalClients
from battleshiper_cli.local.iam.actions import Where, requests_for
from battleshiper_cli.local.iam.enforce import Principal, Recorder
from battleshiper_cli.local.iam.policy import Policy, Request, evaluate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/users"
WHERE = Where("us-east-1", "123456789012")


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.from_document("p", {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_is_allowed_without_an_allow() -> None:
    decision = evaluate(Request("dynamodb:GetItem", TABLE), [policy()])
    assert not decision.allowed and "no identity-based policy allows" in decision.reason


def test_an_explicit_deny_wins_over_any_allow() -> None:
    p = policy(allow("dynamodb:*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"})
    assert evaluate(Request("dynamodb:GetItem", TABLE), [p]).allowed
    assert not evaluate(Request("dynamodb:DeleteItem", TABLE), [p]).allowed


def test_actions_match_case_insensitively_and_resources_case_sensitively_with_wildcards() -> None:
    p = policy(allow("DynamoDB:Get*", "arn:aws:dynamodb:*:*:table/us?rs"))
    assert evaluate(Request("dynamodb:GetItem", TABLE), [p]).allowed
    assert not evaluate(Request("dynamodb:GetItem", TABLE.replace("users", "Users")), [p]).allowed
    # `*` spans ARN separators, as in AWS.
    assert evaluate(
        Request("s3:GetObject", "arn:aws:s3:::b/a/b/c"), [policy(allow("s3:*", "arn:aws:s3:::b/*"))]
    ).allowed


def test_not_action_and_not_resource() -> None:
    p = policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"})
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::open/x"), [p]).allowed
    assert not evaluate(Request("s3:GetObject", "arn:aws:s3:::secret/x"), [p]).allowed
    assert not evaluate(Request("iam:CreateRole", "*"), [p]).allowed


def test_a_permissions_boundary_must_allow_too() -> None:
    identity = [policy(allow("*"))]
    boundary = policy(allow("logs:*"))
    assert evaluate(Request("logs:PutLogEvents", "*"), identity, boundary).allowed
    decision = evaluate(Request("s3:PutObject", "*"), identity, boundary)
    assert not decision.allowed and "permissions boundary" in decision.reason


def test_conditions_and_missing_keys() -> None:
    passed = policy(
        allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
    )
    to = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert evaluate(Request("iam:PassRole", "r", to), [passed]).allowed
    assert not evaluate(
        Request("iam:PassRole", "r", {"iam:PassedToService": "ec2.amazonaws.com"}), [passed]
    ).allowed
    assert not evaluate(Request("iam:PassRole", "r"), [passed]).allowed  # absent key: positive test fails
    negated = policy(allow("s3:*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}))
    assert evaluate(Request("s3:GetObject", "x"), [negated]).allowed  # absent key: negated test holds
    if_exists = policy(allow("s3:*", Condition={"StringEqualsIfExists": {"s3:prefix": "a"}}))
    assert evaluate(Request("s3:ListBucket", "x"), [if_exists]).allowed
    like = policy(allow("events:PutEvents", Condition={"StringLike": {"events:source": ["battle*"]}}))
    assert evaluate(Request("events:PutEvents", "x", {"events:source": "battleshiper"}), [like]).allowed


def test_a_transaction_is_authorized_item_by_item_on_each_table() -> None:
    params = {
        "TransactItems": [
            {"Delete": {"TableName": "projects", "Key": {}}},
            {"Update": {"TableName": "users", "Key": {}, "UpdateExpression": "SET a = :a"}},
        ]
    }
    assert requests_for("dynamodb", "TransactWriteItems", params, WHERE) == [
        Request("dynamodb:DeleteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/projects"),
        Request("dynamodb:UpdateItem", TABLE),
    ]


def test_s3_reads_and_lists_map_to_their_actions() -> None:
    assert requests_for("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, WHERE) == [
        Request("s3:GetObject", "arn:aws:s3:::b/k")
    ]
    assert requests_for("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "p/"}, WHERE) == [
        Request("s3:ListBucket", "arn:aws:s3:::b")
    ]
    assert requests_for("s3", "CopyObject", {"Bucket": "d", "Key": "k2", "CopySource": "s/k1"}, WHERE) == [
        Request("s3:GetObject", "arn:aws:s3:::s/k1"),
        Request("s3:PutObject", "arn:aws:s3:::d/k2"),
    ]


def test_a_denied_call_fails_as_aws_fails_it_and_is_recorded() -> None:
    recorder = Recorder()
    principal = Principal("ReaderRole", "reader", (policy(allow("dynamodb:GetItem", TABLE)),))
    with mock_aws():
        boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        ).create_table(
            TableName="users",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client = LocalClients(principal, recorder=recorder).client("dynamodb")
        client.get_item(TableName="users", Key={"id": {"S": "1"}})
        with pytest.raises(client.exceptions.ClientError) as raised:
            client.put_item(TableName="users", Item={"id": {"S": "1"}})
    error: ClientError = raised.value
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "assumed-role/ReaderRole/reader is not authorized to perform: dynamodb:PutItem" in str(error)
    (denial,) = recorder.denials
    assert denial.request == Request("dynamodb:PutItem", TABLE)
    assert recorder.unused() == []  # the one grant was used
