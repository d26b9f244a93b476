"""Build outputs as the build runner packs them, and Batch job state-change events."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping

from lambdas.shared import names

STACK = "battleshiper"
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/battleshiper-build"
# The buckets CloudFormation names (`<stack>-<logical id>` where the platform is provisioned locally).
BUILD_BUCKET = "battleshiper-buildassetbucket"
PROJECT_BUCKET = "battleshiper-projectbucket"
ARTIFACTS_BUCKET = "battleshiper-artifacts-123456789012-us-east-1"


def server_zip(body: str = "export const handler = async () => ({statusCode: 200});") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", body)
    return buffer.getvalue()


def output_archive(
    client: Mapping[str, bytes] | None = None,
    pages: Mapping[str, bytes] | None = None,
    server: bytes | None = None,
    extra: list[tarfile.TarInfo] | None = None,
) -> bytes:
    """`tar -czf - -C build .`: members start with `./`."""
    client = (
        {"_app/immutable/app.1a2b.js": b"console.log(1)", "favicon.png": b"\x89PNG"}
        if client is None
        else client
    )
    pages = {"index.html": b"<h1>home</h1>", "about.html": b"<h1>about</h1>"} if pages is None else pages
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        files = {
            **{f"client/{k}": v for k, v in client.items()},
            **{f"prerendered/{k}": v for k, v in pages.items()},
        }
        if server is not False:
            files["server/handler.zip"] = server if server is not None else server_zip()
        for path, data in files.items():
            info = tarfile.TarInfo(f"./{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return buffer.getvalue()


def batch_event(
    project: str, execution: str, status: str = "SUCCEEDED", job_id: str = "job-1", reason: str = ""
) -> dict[str, object]:
    return {
        "id": f"evt-{execution}-{status}",
        "source": names.BATCH_EVENT_SOURCE,
        "detail-type": names.BATCH_DETAIL_TYPE,
        "detail": {
            "jobId": job_id,
            "jobName": names.Names(STACK).job_definition(project),
            "jobQueue": QUEUE_ARN,
            "jobDefinition": f"arn:aws:batch:us-east-1:123456789012:job-definition/"
            f"{names.Names(STACK).job_definition(project)}:1",
            "status": status,
            "statusReason": reason,
            "parameters": {names.BUILD_EXECUTION_FIELD: execution},
        },
    }
