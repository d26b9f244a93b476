"""The platform's data (templates/data.py) as an operator would meet it in the rendered platform template."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared.names import Names
from tests.support.rendered import of_type

NAMES = Names()


def test_tables_keep_user_data_and_expire_nonces(platform: Any) -> None:
    tables = {t["Properties"]["TableName"]: t for t in of_type(platform, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {
        NAMES.table(kind) for kind in ("users", "projects", "subscriptions", "deployments", "nonces")
    }
    for name, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert "OnDemandThroughput" not in json.dumps(properties)
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        retained = name != NAMES.table("nonces")
        assert (table.get("DeletionPolicy") == "Retain") is retained, name
        assert (table.get("UpdateReplacePolicy") == "Retain") is retained, name
    nonces = tables[NAMES.table("nonces")]["Properties"]
    assert nonces["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    deployments = tables[NAMES.table("deployments")]["Properties"]["KeySchema"]
    assert deployments == [
        {"AttributeName": "project_name", "KeyType": "HASH"},
        {"AttributeName": "deployment_id", "KeyType": "RANGE"},
    ]
    users = tables[NAMES.table("users")]["Properties"]
    assert {"AttributeName": "installation_id", "AttributeType": "N"} in users["AttributeDefinitions"]
