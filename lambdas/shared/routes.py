"""The route store (CloudFront KeyValueStore) behind the edge functions, with the key formats of
`names`. Writes go in batches within the service's limits, each with the store's current ETag,
retried with a fresh ETag on a conflict (reference defect 29).

`AwsRouteStore` talks to the KeyValueStore data plane (SigV4A: needs botocore's CRT extra, which the
dependency layer ships); the local platform serves the same API over an in-memory store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError

# UpdateKeys takes at most 50 keys (puts + deletes) per request.
BATCH = 50
MAX_ATTEMPTS = 8


class RouteStoreConflict(Exception):
    """The store changed between reading its ETag and writing (retried by `update`)."""


class RouteStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def etag(self) -> str: ...

    def write(self, etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        """One request; raises RouteStoreConflict when `etag` is stale."""
        ...


def update(
    store: RouteStore,
    puts: Mapping[str, str],
    deletes: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Apply `puts` and `deletes` in batches, in order (puts first). Callers that switch something live
    pass the pointer in a separate, last call, so readers never see it before what it points to."""
    items: list[tuple[str, str | None]] = [*puts.items(), *((k, None) for k in deletes)]
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        for attempt in range(MAX_ATTEMPTS):
            try:
                store.write(
                    store.etag(),
                    {k: v for k, v in batch if v is not None},
                    [k for k, v in batch if v is None],
                )
                break
            except RouteStoreConflict:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))


class AwsRouteStore:
    def __init__(self, client: Any, arn: str) -> None:
        self.client = client  # boto3 "cloudfront-keyvaluestore"
        self.arn = arn

    def get(self, key: str) -> str | None:
        try:
            return str(self.client.get_key(KvsARN=self.arn, Key=key)["Value"])
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def etag(self) -> str:
        return str(self.client.describe_key_value_store(KvsARN=self.arn)["ETag"])

    def write(self, etag: str, puts: Mapping[str, str], deletes: Iterable[str]) -> None:
        try:
            self.client.update_keys(
                KvsARN=self.arn,
                IfMatch=etag,
                Puts=[{"Key": k, "Value": v} for k, v in puts.items()],
                Deletes=[{"Key": k} for k in deletes],
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("ConflictException", "PreconditionFailed"):
                raise RouteStoreConflict(str(err)) from err
            raise
