"""DynamoDB access for the records in `models`: conditional writes, paginated reads, one place
that knows the key of each table. Handlers call this; they never build DynamoDB requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.shared import names
from lambdas.shared.models import Deployment, Project, Record, Subscription, User

M = TypeVar("M", bound=Record)
# Alias claims live in the nonces table (never expiring): `alias:<label>` -> the project it serves.
ALIAS_CLAIM = "alias:"


class Conflict(Exception):
    """A conditional write found the item in another state (exists, missing, locked...)."""


class KeeperLost(Conflict):
    """The user who was to keep a role lost it meanwhile."""


class AliasTaken(Conflict):
    """The alias is claimed by another project, or is another project's name (or a parallel claim of it
    is under way)."""

    def __init__(self, alias: str) -> None:
        super().__init__(f"alias {alias}")
        self.alias = alias


def is_conditional_failure(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_reasons(err: ClientError) -> list[str]:
    """Why each item of a canceled transaction failed ("" for the ones that did not); re-raises any
    other error."""
    if err.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise err
    codes = [r.get("Code", "") for r in err.response.get("CancellationReasons", [])]
    return ["" if code == "None" else code for code in codes]


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

    def set_roles_kept(self, user: User, roles: list[str], keeper: str, role: str) -> User:
        """`user`'s new roles (their sessions end: version bump), unchanged since read, only while
        `keeper` still holds `role`: one transaction, so two role managers removing each other cannot
        both succeed. KeeperLost, or Conflict when `user` changed."""
        table = self.users.table.name
        try:
            self.dynamodb.meta.client.transact_write_items(TransactItems=[
                {"Update": {
                    "TableName": table, "Key": {"id": user.id},
                    "UpdateExpression": "SET #r = :roles, session_version = :next",
                    "ConditionExpression": "session_version = :v",
                    "ExpressionAttributeNames": {"#r": "roles"},
                    "ExpressionAttributeValues": {":roles": roles, ":next": user.session_version + 1,
                                                  ":v": user.session_version},
                }},
                {"ConditionCheck": {
                    "TableName": table, "Key": {"id": keeper}, "ConditionExpression": "contains(#r, :role)",
                    "ExpressionAttributeNames": {"#r": "roles"}, "ExpressionAttributeValues": {":role": role},
                }},
            ])
        except ClientError as err:
            reasons = cancellation_reasons(err)
            if len(reasons) > 1 and reasons[1] and not reasons[0]:
                raise KeeperLost(keeper) from err
            raise Conflict(f"User {user.id}") from err
        updated = self.users.get(id=user.id)
        if updated is None:
            raise Conflict(f"User {user.id}")
        return updated

    # --- alias claims ---------------------------------------------------------------------------

    def alias_claim(self, alias: str, project: str) -> dict[str, Any]:
        """The transaction item claiming `alias` for `project`: free, or this project's already."""
        return {"Put": {
            "TableName": self.nonces.name,
            "Item": {"id": ALIAS_CLAIM + alias, "project": project},
            "ConditionExpression": "attribute_not_exists(id) OR #p = :p",
            "ExpressionAttributeNames": {"#p": "project"},
            "ExpressionAttributeValues": {":p": project},
        }}

    def claim_aliases(self, project: str, aliases: Sequence[str]) -> None:
        """Claim every alias for `project` in one transaction: each free or this project's, and none
        another project's name. Two parallel claims of one alias cannot both succeed. AliasTaken names a
        refused alias; the claim of a project that is gone is cleared first."""
        for _ in range(len(aliases) + 1):
            items: list[tuple[str, dict[str, Any]]] = []
            for alias in aliases:
                items.append((alias, self.alias_claim(alias, project)))
                if alias != project:
                    items.append((alias, {"ConditionCheck": {
                        "TableName": self.projects.table.name, "Key": {"name": alias},
                        "ConditionExpression": "attribute_not_exists(#n)",
                        "ExpressionAttributeNames": {"#n": "name"},
                    }}))
            if not items:
                return
            try:
                self.dynamodb.meta.client.transact_write_items(TransactItems=[i for _, i in items])
                return
            except ClientError as err:
                reasons = cancellation_reasons(err)
                failed = [(a, item, code) for (a, item), code in zip(items, reasons, strict=False)
                          if code] or [(items[0][0], items[0][1], "")]
                alias, item, code = failed[0]
                if code == "ConditionalCheckFailed" and "Put" in item and self.clear_stale_claim(alias):
                    continue
                raise AliasTaken(alias) from err
        raise AliasTaken(aliases[0])

    def clear_stale_claim(self, alias: str) -> bool:
        """Remove the claim on `alias` if the project holding it no longer exists (deleted: its record
        is gone). True when it is free now."""
        item = self.nonces.get_item(Key={"id": ALIAS_CLAIM + alias}, ConsistentRead=True).get("Item")
        if item is None:
            return True
        holder = str(item.get("project", ""))
        if self.projects.get(name=holder) is not None:
            return False
        self._drop_claim(alias, holder)
        return True

    def release_aliases(self, project: str, aliases: Sequence[str]) -> None:
        """Give up the project's claims on these aliases (another project's claim stays)."""
        for alias in aliases:
            self._drop_claim(alias, project)

    def _drop_claim(self, alias: str, holder: str) -> None:
        """Delete the claim on `alias` while `holder` holds it."""
        try:
            self.nonces.delete_item(Key={"id": ALIAS_CLAIM + alias}, ConditionExpression="#p = :p",
                                    ExpressionAttributeNames={"#p": "project"},
                                    ExpressionAttributeValues={":p": holder})
        except ClientError as err:
            if not is_conditional_failure(err):
                raise
