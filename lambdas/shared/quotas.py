"""The per-user project quota, kept exact under concurrency.

A project record and its owner's `project_count` change together in one DynamoDB transaction: the
counter is incremented only while below the subscription's limit and the project is written only if
its name is free (no project, no other project's alias claim: `Store.claim_aliases`), so concurrent
creates cannot overshoot (reference defect 50) and a failed create leaves nothing behind. Whoever
removes a project record for good calls `release_project`.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from lambdas.shared.models import Project
from lambdas.shared.store import Store, cancellation_reasons


class QuotaExceeded(Exception):
    pass


class NameTaken(Exception):
    pass


class UnknownUser(Exception):
    pass


def create_project(store: Store, project: Project, limit: int) -> None:
    """Write `project`, claim its name as its first alias and count it against its owner, or do none.
    A claim left by a deleted project is cleared and the create tried once more."""
    try:
        _create(store, project, limit)
    except NameTaken:
        if store.projects.get(name=project.name) is not None or not store.clear_stale_claim(project.name):
            raise
        _create(store, project, limit)


def _create(store: Store, project: Project, limit: int) -> None:
    # The resource's client marshals plain Python values itself.
    client = store.dynamodb.meta.client
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": store.users.table.name,
                        "Key": {"id": project.owner_id},
                        "UpdateExpression": "SET project_count = if_not_exists(project_count, :zero) + :one",
                        "ConditionExpression": "attribute_exists(id) AND "
                        "(attribute_not_exists(project_count) OR project_count < :limit)",
                        "ExpressionAttributeValues": {
                            ":zero": 0, ":one": 1, ":limit": limit
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": store.projects.table.name,
                        "Item": project.item(),
                        "ConditionExpression": "attribute_not_exists(#n)",
                        "ExpressionAttributeNames": {"#n": "name"},
                    }
                },
                # The name is the project's first alias: never one another project claimed meanwhile.
                store.alias_claim(project.name, project.name),
            ]
        )
    except ClientError as err:
        reasons = cancellation_reasons(err)
        if any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons[1:]):
            raise NameTaken(project.name) from err
        if reasons and reasons[0] == "ConditionalCheckFailed":
            if store.users.get(id=project.owner_id) is None:
                raise UnknownUser(project.owner_id) from err
            raise QuotaExceeded(project.owner_id) from err
        raise


def release_project(store: Store, project: Project) -> None:
    """Remove the project record and give its slot back to the owner (if the owner still exists)."""
    client = store.dynamodb.meta.client
    delete = {
        "Delete": {"TableName": store.projects.table.name, "Key": {"name": project.name}}
    }
    try:
        client.transact_write_items(
            TransactItems=[
                delete,
                {
                    "Update": {
                        "TableName": store.users.table.name,
                        "Key": {"id": project.owner_id},
                        "UpdateExpression": "SET project_count = project_count - :one",
                        "ConditionExpression": "project_count > :zero",
                        "ExpressionAttributeValues": {":zero": 0, ":one": 1},
                    }
                },
            ]
        )
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        # The owner is gone or holds no count: the record still has to go.
        store.projects.delete(name=project.name)
