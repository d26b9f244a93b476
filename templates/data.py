"""The platform's data: the DynamoDB tables, the signing secrets, the KMS key for GitHub tokens and the
platform log groups. Other modules reach them by logical id (`templates.ids`)."""

from __future__ import annotations

from collections.abc import Iterable

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from troposphere import Ref, Sub, Tags, Template
from troposphere.dynamodb import (
    AttributeDefinition,
    GlobalSecondaryIndex,
    KeySchema,
    PointInTimeRecoverySpecification,
    Projection,
    Table,
    TimeToLiveSpecification,
)
from troposphere.kms import Alias as KeyAlias
from troposphere.kms import Key
from troposphere.logs import LogGroup
from troposphere.secretsmanager import GenerateSecretString, Secret

from lambdas.shared.names import (
    EXPIRY_ATTRIBUTE,
    PLATFORM_LOG_KINDS,
    PROJECTS_OWNER_INDEX,
    TABLE_ENV,
    USERS_INSTALLATION_INDEX,
)
from templates import ids
from templates.common import ACCOUNT, PARTITION, log_group
from templates.config import PlatformConfig

LOG_GROUP_IDS = {
    "api": ids.API_LOG_GROUP,
    "dashboard": ids.DASHBOARD_LOG_GROUP,
    "router": ids.ROUTER_LOG_GROUP,
    "pipeline": ids.PIPELINE_LOG_GROUP,
}


def add(t: Template, config: PlatformConfig) -> dict[str, LogGroup]:
    """Every data resource; returns the platform log groups by kind."""
    add_tables(t, config)
    add_secrets(t, config)
    add_token_key(t, config)
    return add_log_groups(t, config)


def table_environment(kinds: Iterable[str]) -> dict[str, object]:
    """The environment variables that tell a function these tables' names."""
    return {TABLE_ENV[kind]: Ref(ids.TABLE_IDS[kind]) for kind in kinds}


def _table(
    t: Template,
    config: PlatformConfig,
    kind: str,
    keys: list[tuple[str, str, str]],
    index: tuple[str, str, str] | None = None,
    *,
    retain: bool,
    ttl: bool = False,
) -> Table:
    """`keys`: (attribute, type, HASH|RANGE); `index`: (index name, attribute, type)."""
    attributes = {name: kind_ for name, kind_, _ in keys}
    props: dict[str, object] = {
        "TableName": config.names.table(kind),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [KeySchema(AttributeName=name, KeyType=role) for name, _, role in keys],
        "PointInTimeRecoverySpecification": PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        "Tags": Tags(**{config.names.stack_tag: config.stack_name}),
    }
    if index:
        index_name, attribute, attribute_type = index
        attributes[attribute] = attribute_type
        props["GlobalSecondaryIndexes"] = [
            GlobalSecondaryIndex(
                IndexName=index_name,
                KeySchema=[KeySchema(AttributeName=attribute, KeyType="HASH")],
                Projection=Projection(ProjectionType="ALL"),
            )
        ]
    props["AttributeDefinitions"] = [
        AttributeDefinition(AttributeName=n, AttributeType=k) for n, k in attributes.items()
    ]
    if ttl:
        props["TimeToLiveSpecification"] = TimeToLiveSpecification(
            AttributeName=EXPIRY_ATTRIBUTE, Enabled=True
        )
    if retain:  # user data outlives the stack (reference defect 21)
        props["DeletionPolicy"] = props["UpdateReplacePolicy"] = "Retain"
    return t.add_resource(Table(ids.TABLE_IDS[kind], **props))


def add_tables(t: Template, config: PlatformConfig) -> None:
    _table(t, config, "users", [("id", "S", "HASH")], (USERS_INSTALLATION_INDEX, "installation_id", "N"),
           retain=True)
    _table(t, config, "projects", [("name", "S", "HASH")], (PROJECTS_OWNER_INDEX, "owner_id", "S"),
           retain=True)
    _table(t, config, "subscriptions", [("id", "S", "HASH")], retain=True)
    _table(
        t,
        config,
        "deployments",
        [("project_name", "S", "HASH"), ("deployment_id", "S", "RANGE")],
        retain=True,
    )
    # Ticket ids and webhook delivery ids, kept until they could no longer be replayed.
    _table(t, config, "nonces", [("id", "S", "HASH")], retain=False, ttl=True)


def add_secrets(t: Template, config: PlatformConfig) -> None:
    for logical_id, name, purpose in (
        (ids.SESSION_KEY_SECRET, config.names.session_key_secret, "signs session tokens"),
        (ids.TICKET_KEY_SECRET, config.names.ticket_key_secret, "signs pipeline tickets"),
    ):
        t.add_resource(
            Secret(
                logical_id,
                Name=name,
                Description=f"Battleshiper ({config.stack_name}): key that {purpose}",
                GenerateSecretString=GenerateSecretString(
                    SecretStringTemplate="{}",
                    GenerateStringKey="secret",
                    PasswordLength=64,
                    ExcludePunctuation=True,
                ),
                Tags=Tags(**{config.names.stack_tag: config.stack_name}),
            )
        )


def add_token_key(t: Template, config: PlatformConfig) -> None:
    """The key that encrypts GitHub tokens at rest. The key policy only delegates to IAM (the account
    root); functions get Encrypt/Decrypt through their role policies, which avoids a cycle between
    the key policy and the roles."""
    root = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:root")
    t.add_resource(
        Key(
            ids.TOKEN_KEY,
            Description=f"Battleshiper ({config.stack_name}): GitHub tokens at rest",
            EnableKeyRotation=True,
            KeyPolicy=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="AccountAdministers",
                        Effect=Allow,
                        Principal=Principal("AWS", [root]),
                        Action=[AwacsAction("kms", "*")],
                        Resource=["*"],
                    )
                ],
            ),
            Tags=Tags(**{config.names.stack_tag: config.stack_name}),
        )
    )
    t.add_resource(
        KeyAlias("TokenKeyAlias", AliasName=config.names.token_key_alias, TargetKeyId=Ref(ids.TOKEN_KEY))
    )


def add_log_groups(t: Template, config: PlatformConfig) -> dict[str, LogGroup]:
    return {
        kind: log_group(
            t, LOG_GROUP_IDS[kind], config.names.platform_log_group(kind), config.log_retention_days
        )
        for kind in PLATFORM_LOG_KINDS
    }
