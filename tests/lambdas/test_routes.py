"""Route-store writes: batches within the request limit, retried on ETag conflicts; the AWS client's
request shapes checked with botocore's Stubber."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.shared import routes
from lambdas.shared.routes import AwsRouteStore, RouteStoreConflict

ARN = "arn:aws:cloudfront::123456789012:key-value-store/abc"


def test_large_updates_go_in_batches_within_the_limit() -> None:
    store = MemoryRouteStore({"old": "x"})
    writes: list[int] = []
    original = store.write

    def counting(etag: str, puts: dict[str, str], deletes: list[str]) -> None:
        writes.append(len(puts) + len(list(deletes)))
        original(etag, puts, deletes)

    store.write = counting  # type: ignore[method-assign]
    routes.update(store, {f"p:shop/d1/{i}": f"/{i}.html" for i in range(120)}, ["old"])
    assert writes == [50, 50, 21]
    assert store.get("p:shop/d1/7") == "/7.html" and store.get("old") is None


def test_a_conflict_is_retried_with_a_fresh_etag() -> None:
    store = MemoryRouteStore()
    racer_wrote = []

    class Racing(MemoryRouteStore):
        def etag(self) -> str:
            tag = super().etag()
            if not racer_wrote:  # another writer gets in between our read and our write
                racer_wrote.append(1)
                MemoryRouteStore.write(self, tag, {"a:other": "other"}, [])
            return tag

    store = Racing()
    routes.update(store, {"l:shop": "d1"}, sleep=lambda _s: None)
    assert store.get("l:shop") == "d1" and store.get("a:other") == "other"


def test_gives_up_after_bounded_attempts() -> None:
    class AlwaysStale(MemoryRouteStore):
        def write(self, etag: str, puts: object, deletes: object) -> None:
            raise RouteStoreConflict(etag)

    with pytest.raises(RouteStoreConflict):
        routes.update(AlwaysStale(), {"l:shop": "d1"}, sleep=lambda _s: None)


def test_aws_store_request_shapes() -> None:
    client = boto3.client(
        "cloudfront-keyvaluestore", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    store = AwsRouteStore(client, ARN)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_key_value_store",
            {"ETag": "e1", "KvsARN": ARN, "Created": 0, "ItemCount": 0, "TotalSizeInBytes": 0},
            {"KvsARN": ARN},
        )
        stub.add_client_error(
            "update_keys",
            "ConflictException",
            expected_params={
                "KvsARN": ARN,
                "IfMatch": "e1",
                "Puts": [{"Key": "l:shop", "Value": "d1"}],
                "Deletes": [],
            },
        )
        stub.add_response(
            "describe_key_value_store",
            {"ETag": "e2", "KvsARN": ARN, "Created": 0, "ItemCount": 1, "TotalSizeInBytes": 8},
            {"KvsARN": ARN},
        )
        stub.add_response(
            "update_keys",
            {"ItemCount": 1, "TotalSizeInBytes": 8, "ETag": "e3"},
            {"KvsARN": ARN, "IfMatch": "e2", "Puts": [{"Key": "l:shop", "Value": "d1"}], "Deletes": []},
        )
        stub.add_client_error(
            "get_key", "ResourceNotFoundException", expected_params={"KvsARN": ARN, "Key": "nope"}
        )
        routes.update(store, {"l:shop": "d1"}, sleep=lambda _s: None)
        assert store.get("nope") is None
        stub.assert_no_pending_responses()
