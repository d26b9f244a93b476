"""The platform's DynamoDB tables in moto, created from the rendered template (so keys and indexes
are exactly what the template declares), and the environment a function gets."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared.names import Names, table_env
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template


def create_tables(dynamodb: Any, stack: str = "battleshiper") -> dict[str, str]:
    """Create every table of the template; returns the table environment variables."""
    template = json.loads(
        build_platform_template(PlatformConfig(stack_name=stack, artifacts=placeholder_artifacts())).to_json()
    )
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        kwargs: dict[str, Any] = {
            "TableName": props["TableName"],
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in props["GlobalSecondaryIndexes"]
            ]
        dynamodb.create_table(**kwargs)
    return table_env(Names(stack))
