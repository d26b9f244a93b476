"""Uploading a deployment's static files: in parallel, each with its Content-Type and Cache-Control.

Paths are immutable per deployment (`<project>/<deployment>/...`), but a page or `favicon.png` is
served at a stable URL whose deployment changes, so only SvelteKit's hashed `_app/immutable/` files may
be cached for a year; everything else is revalidated quickly. Each upload reads its file from the
deploy's work folder on disk (`output.read_output`), never the whole output from memory.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=0, s-maxage=60, must-revalidate"
IMMUTABLE_DIR = "_app/immutable/"
TEXT_TYPES = ("text/", "application/javascript", "application/json", "application/xml", "image/svg+xml")
EXTRA_TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".html": "text/html",
    ".ico": "image/x-icon",
}


def content_type(path: str) -> str:
    dot = path.rfind(".")
    extension = path[dot:].lower() if dot > path.rfind("/") else ""
    kind = EXTRA_TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(TEXT_TYPES) else kind


def cache_control(path: str) -> str:
    return IMMUTABLE if path.startswith(IMMUTABLE_DIR) else SHORT


def upload_files(s3: Any, bucket: str, prefix: str, files: Mapping[str, Path], workers: int) -> int:
    """Put every file under `prefix`; returns the number of bytes written. Any failure raises (after
    the running uploads finish); nothing points at the prefix yet, so a retry simply writes it again."""

    def put(item: tuple[str, Path]) -> int:
        path, file = item
        with file.open("rb") as body:  # botocore streams a seekable file
            s3.put_object(
                Bucket=bucket,
                Key=prefix + path,
                Body=body,
                ContentType=content_type(path),
                CacheControl=cache_control(path),
            )
            return body.seek(0, 2)

    if not files:
        return 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(files)))) as pool:
        return sum(pool.map(put, files.items()))
