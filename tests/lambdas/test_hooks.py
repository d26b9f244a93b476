"""The dashboard release hooks: uploading a release's static files, pruning older releases, retrying
transient failures and reporting the outcome to CodeDeploy (moto S3; CodeDeploy through botocore's
Stubber, as moto does not implement lifecycle hook reports)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.hooks import ATTEMPTS, run_hook
from lambdas.hooks.post_traffic import prune
from lambdas.hooks.pre_traffic import publish
from lambdas.shared.dashboard_assets import delete_other_deployments, upload_dashboard_assets
from lambdas.shared.names import DASHBOARD_DEPLOYMENT_TAG, Env

REGION = "eu-central-1"
BUCKET = "dashboard-bucket"
ARTIFACTS = "artifacts-bucket"
ASSETS_KEY = "dashboard-assets/abc.zip"
ENV = {Env.DASHBOARD_BUCKET: BUCKET, Env.ARTIFACTS_BUCKET: ARTIFACTS, Env.DASHBOARD_ASSETS_KEY: ASSETS_KEY}


def assets_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, body in files.items():
            archive.writestr(path, body)
    return buffer.getvalue()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client: Any = boto3.client("s3", region_name=REGION)
        for bucket in (BUCKET, ARTIFACTS):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture
def codedeploy() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "codedeploy", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_report(stubber: Stubber, status: str, deployment_id: str = "d-NEW") -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-1"},
        {"deploymentId": deployment_id, "lifecycleEventHookExecutionId": "hook-1", "status": status},
    )


def event(deployment_id: str = "d-NEW") -> dict[str, str]:
    return {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": "hook-1"}


def keys(s3: Any) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def release_of(s3: Any, key: str) -> str:
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}[DASHBOARD_DEPLOYMENT_TAG]


# --- assets ----------------------------------------------------------------------------------------


def test_upload_puts_each_file_at_its_path_with_type_caching_and_release_tag(s3: Any) -> None:
    files = {
        "index.html": b"<html></html>",
        "favicon.png": b"\x89PNG",
        "robots.txt": b"User-agent: *",
        "_app/immutable/entry/start.Bx1.js": b"export{}",
        "_app/immutable/assets/app.Cy2.css": b"body{}",
        "_app/version.json": b"{}",
    }

    uploaded = upload_dashboard_assets(s3, BUCKET, assets_zip(files), "d-1")

    assert set(uploaded) == set(files) == keys(s3)
    index = s3.get_object(Bucket=BUCKET, Key="index.html")
    assert index["Body"].read() == b"<html></html>"
    assert index["ContentType"].startswith("text/html")
    assert index["CacheControl"] == "no-cache"
    chunk = s3.get_object(Bucket=BUCKET, Key="_app/immutable/entry/start.Bx1.js")
    assert chunk["ContentType"].startswith("text/javascript")
    assert chunk["CacheControl"] == "public, max-age=31536000, immutable"
    assert s3.get_object(Bucket=BUCKET, Key="_app/immutable/assets/app.Cy2.css")["ContentType"].startswith(
        "text/css"
    )
    assert s3.get_object(Bucket=BUCKET, Key="favicon.png")["ContentType"] == "image/png"
    # Not under immutable/: the same name may hold different content in the next release.
    assert s3.get_object(Bucket=BUCKET, Key="_app/version.json")["CacheControl"] == "no-cache"
    assert all(release_of(s3, key) == "d-1" for key in files)


def test_upload_refuses_paths_outside_the_bucket_root(s3: Any) -> None:
    with pytest.raises(ValueError, match="unsafe path"):
        upload_dashboard_assets(s3, BUCKET, assets_zip({"../etc/passwd": b"x"}), "d-1")
    with pytest.raises(ValueError, match="unsafe path"):
        upload_dashboard_assets(s3, BUCKET, assets_zip({"/index.html": b"x"}), "d-1")


def test_cleanup_sweeps_every_page_and_never_deletes_a_live_asset(s3: Any) -> None:
    # The live release's files sort first and fill more than a whole listing page (1000 keys), so a
    # sweep that stopped at a page with nothing to delete would leave the old release behind.
    old_only = {f"_app/immutable/z/old-{i:04}.js": b"old" for i in range(150)}
    shared = {"index.html": b"old index", "favicon.png": b"old icon"}
    live = {f"_app/immutable/a/new-{i:04}.js": b"new" for i in range(1100)}
    upload_dashboard_assets(s3, BUCKET, assets_zip({**old_only, **shared}), "d-OLD")
    upload_dashboard_assets(
        s3, BUCKET, assets_zip({**live, "index.html": b"new index", "favicon.png": b"i"}), "d-NEW"
    )

    deleted = delete_other_deployments(s3, BUCKET, "d-NEW")

    assert set(deleted) == set(old_only)
    assert keys(s3) == set(live) | set(shared)
    assert s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read() == b"new index"


def test_cleanup_of_a_bucket_holding_only_the_live_release_deletes_nothing(s3: Any) -> None:
    upload_dashboard_assets(s3, BUCKET, assets_zip({"index.html": b"x", "_app/immutable/a.js": b"y"}), "d-1")

    assert delete_other_deployments(s3, BUCKET, "d-1") == []
    assert keys(s3) == {"index.html", "_app/immutable/a.js"}


# --- hooks and their reports to CodeDeploy ---------------------------------------------------------


def test_pre_traffic_hook_uploads_the_release_and_reports_success(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    s3.put_object(Bucket=ARTIFACTS, Key=ASSETS_KEY, Body=assets_zip({"index.html": b"hi"}))
    expect_report(stubber, "Succeeded")

    assert publish(event(), s3, client, ENV) == {"status": "Succeeded"}
    assert release_of(s3, "index.html") == "d-NEW"


def test_pre_traffic_hook_reports_failure_when_the_assets_are_missing(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    assert publish(event(), s3, client, ENV) == {"status": "Failed"}
    assert keys(s3) == set()


def test_post_traffic_hook_prunes_older_releases_and_reports_success(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    upload_dashboard_assets(s3, BUCKET, assets_zip({"_app/immutable/old.js": b"o"}), "d-OLD")
    upload_dashboard_assets(s3, BUCKET, assets_zip({"_app/immutable/new.js": b"n"}), "d-NEW")
    expect_report(stubber, "Succeeded")

    assert prune(event(), s3, client, ENV) == {"status": "Succeeded"}
    assert keys(s3) == {"_app/immutable/new.js"}


def test_post_traffic_hook_reports_failure_when_the_bucket_is_unreachable(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    assert prune(event(), s3, client, {**ENV, Env.DASHBOARD_BUCKET: "no-such-bucket"}) == {"status": "Failed"}


def test_a_report_that_codedeploy_rejects_fails_the_invocation_so_lambda_retries(codedeploy: Any) -> None:
    client, stubber = codedeploy
    stubber.add_client_error("put_lifecycle_event_hook_execution_status", "ThrottlingException")

    with pytest.raises(ClientError):
        run_hook(event(), client, lambda deployment_id: None)


# --- transient failures: retried with backoff, then reported -----------------------------------------


class Flaky:
    """The moto S3 client, whose `get_object` fails `failures` times first with `code`."""

    def __init__(self, s3: Any, failures: int, code: str = "AccessDenied", status: int = 403) -> None:
        self._s3, self.failures, self._code, self._status = s3, failures, code, status
        self.calls = 0

    def get_object(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ClientError(
                {"Error": {"Code": self._code, "Message": "injected"},
                 "ResponseMetadata": {"HTTPStatusCode": self._status}},
                "GetObject",
            )
        return self._s3.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDenied", 403), ("SlowDown", 503), ("InternalError", 500), ("Anything", 502)],
)
def test_pre_traffic_hook_retries_a_transient_failure_and_succeeds(
    s3: Any, codedeploy: Any, code: str, status: int
) -> None:
    # AccessDenied: the role's grant has not reached S3 yet after the stack update that runs the hook.
    client, stubber = codedeploy
    s3.put_object(Bucket=ARTIFACTS, Key=ASSETS_KEY, Body=assets_zip({"index.html": b"hi"}))
    expect_report(stubber, "Succeeded")
    flaky, waits = Flaky(s3, failures=2, code=code, status=status), []

    assert publish(event(), flaky, client, ENV, sleep=waits.append) == {"status": "Succeeded"}
    assert flaky.calls == 3 and waits == [1.0, 2.0]
    assert release_of(s3, "index.html") == "d-NEW"


def test_pre_traffic_hook_reports_failure_after_the_bounded_retries(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    s3.put_object(Bucket=ARTIFACTS, Key=ASSETS_KEY, Body=assets_zip({"index.html": b"hi"}))
    expect_report(stubber, "Failed")
    flaky, waits = Flaky(s3, failures=100), []

    assert publish(event(), flaky, client, ENV, sleep=waits.append) == {"status": "Failed"}
    assert flaky.calls == ATTEMPTS and len(waits) == ATTEMPTS - 1
    assert sum(waits) <= 60  # well inside the hook's 300 s timeout
    assert keys(s3) == set()


def test_pre_traffic_hook_does_not_retry_a_missing_artifact(s3: Any, codedeploy: Any) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")
    waits: list[float] = []

    assert publish(event(), s3, client, ENV, sleep=waits.append) == {"status": "Failed"}
    assert waits == []
