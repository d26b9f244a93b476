"""The dashboard's static files in its bucket: one release's files are uploaded from the assets zip
(which holds each file at its URL path) and tagged with the release; after the traffic shift, files
of every other release are deleted.

Used by the dashboard release hooks and by the CLI, which publishes the first release right after
the stack is created, when CodeDeploy runs no hooks (hence here, not in the hooks group).
"""

from __future__ import annotations

import io
import mimetypes
import posixpath
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from lambdas.shared.names import DASHBOARD_DEPLOYMENT_TAG

IMMUTABLE_PREFIX = "_app/immutable/"  # SvelteKit's content-hashed files
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "no-cache"  # index.html and other unhashed files: revalidate, so a release shows at once
DELETE_BATCH = 1000  # DeleteObjects' limit

# Explicit types for what a SvelteKit build emits; the runtime's mimetypes table varies by platform.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
}


def content_type(key: str) -> str:
    extension = posixpath.splitext(key)[1].lower()
    return CONTENT_TYPES.get(extension) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    return IMMUTABLE_CACHE if key.startswith(IMMUTABLE_PREFIX) else REVALIDATE_CACHE


def _files(archive: zipfile.ZipFile) -> Iterator[tuple[str, zipfile.ZipInfo]]:
    for info in archive.infolist():
        if info.is_dir():
            continue
        key = info.filename
        if key.startswith("/") or ".." in key.split("/") or "\\" in key:
            raise ValueError(f"unsafe path in the dashboard assets: {key!r}")
        yield key, info


def upload_dashboard_assets(s3: Any, bucket: str, assets_zip: bytes, deployment_id: str) -> list[str]:
    """Put every file of `assets_zip` at its path, tagged with `deployment_id`; returns the keys.
    Only adds or overwrites: the release still serving traffic keeps its hashed files."""
    tagging = urlencode({DASHBOARD_DEPLOYMENT_TAG: deployment_id})
    keys: list[str] = []
    with zipfile.ZipFile(io.BytesIO(assets_zip)) as archive:
        for key, info in _files(archive):
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=archive.read(info),
                ContentType=content_type(key),
                CacheControl=cache_control(key),
                Tagging=tagging,
            )
            keys.append(key)
    return keys


def _release_of(s3: Any, bucket: str, key: str) -> str | None:
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return next((t["Value"] for t in tags if t["Key"] == DASHBOARD_DEPLOYMENT_TAG), None)


def delete_other_deployments(s3: Any, bucket: str, deployment_id: str) -> list[str]:
    """Delete every object not tagged with `deployment_id`; returns the deleted keys. The whole
    listing is read first (every page: a page with nothing to delete does not end the sweep, unlike
    the reference's), so deleting never disturbs the listing."""
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
        if _release_of(s3, bucket, obj["Key"]) != deployment_id
    ]
    for start in range(0, len(stale), DELETE_BATCH):
        batch = stale[start : start + DELETE_BATCH]
        result = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        if result.get("Errors"):
            failed = ", ".join(e["Key"] for e in result["Errors"][:5])
            raise RuntimeError(f"could not delete {len(result['Errors'])} old dashboard files ({failed})")
    return stale
