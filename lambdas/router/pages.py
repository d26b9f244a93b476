"""Prerendered pages (and their data files) read from the project bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# Objects the deploy step uploaded without a type still get the right one.
TYPES_BY_SUFFIX = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
}
# A page URL is not immutable (the next deployment changes it), so caches must revalidate.
DEFAULT_CACHE_CONTROL = "public, max-age=0, must-revalidate"


@dataclass(frozen=True)
class Page:
    status: int  # 200, or 304 when the client's copy is current
    body: bytes
    headers: dict[str, str]


class S3Pages:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def read(self, key: str, head: bool = False, if_none_match: str | None = None) -> Page | None:
        """The object at `key`, or None when there is none."""
        args: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if if_none_match:
            args["IfNoneMatch"] = if_none_match
        try:
            obj = self._client.head_object(**args) if head else self._client.get_object(**args)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("304", "NotModified"):
                return Page(304, b"", {"etag": if_none_match or ""})
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        suffix = key[key.rfind(".") :] if "." in key else ""
        content_type = obj.get("ContentType")
        if not content_type or content_type == "binary/octet-stream":
            content_type = TYPES_BY_SUFFIX.get(suffix, "application/octet-stream")
        headers = {
            "content-type": content_type,
            "cache-control": obj.get("CacheControl") or DEFAULT_CACHE_CONTROL,
        }
        if obj.get("ETag"):
            headers["etag"] = obj["ETag"]
        if obj.get("LastModified"):
            headers["last-modified"] = obj["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
        if head and "ContentLength" in obj:  # what a GET would send
            headers["content-length"] = str(obj["ContentLength"])
        body = b"" if head else obj["Body"].read()
        return Page(200, body, headers)
