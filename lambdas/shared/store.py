"""DynamoDB access for the records in `models`: conditional writes, paginated reads, one place
that knows the key of each table. Handlers call this; they never build DynamoDB requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any, Generic, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.shared import names
from lambdas.shared.models import Deployment, Project, Record, Subscription, User

M = TypeVar("M", bound=Record)


class Conflict(Exception):
    """A conditional write found the item in another state (exists, missing, locked...)."""


def is_conditional_failure(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Repo(Generic[M]):
    """One table of one record type."""

    def __init__(self, table: Any, model: type[M], hash_key: str, range_key: str | None = None) -> None:
        self.table = table
        self.model = model
        self.hash_key = hash_key
        self.range_key = range_key

    def key(self, record: M) -> dict[str, Any]:
        item = record.item()
        return {k: item[k] for k in (self.hash_key, self.range_key) if k}

    def get(self, **key: Any) -> M | None:
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return self.model.model_validate(item) if item else None

    def create(self, record: M) -> None:
        """Write a new record; Conflict if one with the same key exists."""
        self.put(
            record,
            ConditionExpression="attribute_not_exists(#hk)",
            ExpressionAttributeNames={"#hk": self.hash_key},
        )

    def put(self, record: M, **condition: Any) -> None:
        try:
            self.table.put_item(Item=record.item(), **condition)
        except ClientError as err:
            if is_conditional_failure(err):
                raise Conflict(f"{self.model.__name__} {self.key(record)}") from err
            raise

    def update(
        self,
        key: Mapping[str, Any],
        values: Mapping[str, Any],
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        extra_names: Mapping[str, str] | None = None,
    ) -> M:
        """SET the given top-level attributes (None removes one) on an existing record, optionally
        under an extra condition; returns the new record. Conflict if missing or the condition fails.
        In `condition`, `#a<i>` names the i-th key of `values`; `extra_names` adds more `#name`s."""
        sets = {k: v for k, v in values.items() if v is not None}
        removes = [k for k, v in values.items() if v is None]
        names_ = {f"#a{i}": k for i, k in enumerate(values)}
        by_name = {v: k for k, v in names_.items()}
        expression = []
        if sets:
            expression.append("SET " + ", ".join(f"{by_name[k]} = :v{i}" for i, k in enumerate(sets)))
        if removes:
            expression.append("REMOVE " + ", ".join(by_name[k] for k in removes))
        attribute_values = {f":v{i}": v for i, v in enumerate(sets.values())} | dict(condition_values or {})
        exists = "attribute_exists(#hk)"
        kwargs: dict[str, Any] = {
            "Key": dict(key),
            "UpdateExpression": " ".join(expression),
            "ExpressionAttributeNames": names_ | {"#hk": self.hash_key} | dict(extra_names or {}),
            "ConditionExpression": exists if condition is None else f"{exists} AND ({condition})",
            "ReturnValues": "ALL_NEW",
        }
        if attribute_values:
            kwargs["ExpressionAttributeValues"] = attribute_values
        try:
            return self.model.model_validate(self.table.update_item(**kwargs)["Attributes"])
        except ClientError as err:
            if is_conditional_failure(err):
                raise Conflict(f"{self.model.__name__} {dict(key)}") from err
            raise

    def delete(self, **key: Any) -> None:
        self.table.delete_item(Key=key)

    def _key_query(self, index: str | None, newest_first: bool, key: Mapping[str, Any]) -> dict[str, Any]:
        ((name, value),) = key.items()
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key(name).eq(value),
            "ScanIndexForward": not newest_first,
        }
        if index:
            kwargs["IndexName"] = index
        return kwargs

    def _every(self, read: Any, kwargs: dict[str, Any]) -> Iterator[M]:
        """The records of every page of a query or scan."""
        while True:
            page = read(**kwargs)
            yield from (self.model.model_validate(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def query(self, index: str | None = None, *, newest_first: bool = False, **key: Any) -> Iterator[M]:
        """Every record whose (index) hash key matches, across all pages."""
        return self._every(self.table.query, self._key_query(index, newest_first, key))

    def page(
        self,
        index: str | None = None,
        *,
        limit: int,
        start: Mapping[str, Any] | None = None,
        newest_first: bool = False,
        **key: Any,
    ) -> tuple[list[M], dict[str, Any] | None]:
        """One page of a query (for paginated API answers): the records and the key to continue from.
        DynamoDB may return fewer than `limit` with more to come; callers pass the key back."""
        kwargs = self._key_query(index, newest_first, key) | {"Limit": limit}
        if start:
            kwargs["ExclusiveStartKey"] = dict(start)
        page = self.table.query(**kwargs)
        records = [self.model.model_validate(item) for item in page.get("Items", [])]
        return records, page.get("LastEvaluatedKey")

    def scan(self) -> Iterator[M]:
        return self._every(self.table.scan, {})


class Store:
    """The platform's tables, named by the environment the template sets."""

    def __init__(self, dynamodb: Any, env: Mapping[str, str]) -> None:
        self.dynamodb = dynamodb  # a boto3 DynamoDB resource from the client factory
        self.env = env

    def _table(self, variable: str) -> Any:
        return self.dynamodb.Table(self.env[variable])

    @cached_property
    def users(self) -> Repo[User]:
        return Repo(self._table(names.Env.USERS_TABLE), User, "id")

    @cached_property
    def projects(self) -> Repo[Project]:
        return Repo(self._table(names.Env.PROJECTS_TABLE), Project, "name")

    @cached_property
    def subscriptions(self) -> Repo[Subscription]:
        return Repo(self._table(names.Env.SUBSCRIPTIONS_TABLE), Subscription, "id")

    @cached_property
    def deployments(self) -> Repo[Deployment]:
        return Repo(self._table(names.Env.DEPLOYMENTS_TABLE), Deployment, "project_name", "deployment_id")

    @cached_property
    def nonces(self) -> Any:
        return self._table(names.Env.NONCES_TABLE)

    def claim_nonce(self, nonce: str, expires_at: int) -> bool:
        """Record a single-use id (ticket id, webhook delivery); False if it was seen before."""
        try:
            self.nonces.put_item(
                Item={"id": nonce, names.EXPIRY_ATTRIBUTE: expires_at},
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as err:
            if is_conditional_failure(err):
                return False
            raise
        return True
