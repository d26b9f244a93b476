"""The artifacts bucket: created once before the stack, filled with content-addressed artifacts.

Keys carry the content hash, so an object that exists already holds exactly these bytes: it is
not uploaded again, and an update that changes nothing uploads nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from battleshiper_cli.errors import AwsError
from battleshiper_cli.packaging import PackagedArtifact

TEMPLATE_PREFIX = "platform-template/"


@dataclass
class UploadReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0

    def add(self, other: UploadReport) -> None:
        self.uploaded += other.uploaded
        self.skipped += other.skipped
        self.bytes += other.bytes


def _code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def bucket_state(s3: Any, bucket: str, account_id: str | None = None) -> str:
    """"missing", "ours" or "foreign" (exists, but another account owns it)."""
    kwargs = {"Bucket": bucket}
    if account_id:
        kwargs["ExpectedBucketOwner"] = account_id
    try:
        s3.head_bucket(**kwargs)
    except botocore.exceptions.ClientError as err:
        if _code(err) in {"404", "NoSuchBucket", "NotFound"}:
            return "missing"
        if _code(err) in {"403", "AccessDenied"}:
            return "foreign"
        raise
    return "ours"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def deny_insecure_transport(bucket: str, region: str) -> str:
    bucket_arn = f"arn:{partition(region)}:s3:::{bucket}"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def ensure_artifacts_bucket(
    s3: Any, bucket: str, region: str, *, tags: Mapping[str, str] | None = None
) -> bool:
    """Create the bucket, private and encrypted, unless it exists; True when it was created."""
    state = bucket_state(s3, bucket)
    if state == "ours":
        return False
    if state == "foreign":
        raise AwsError(f"bucket {bucket} exists but is not accessible to this account",
                       hint="choose another --stack-name, or use the account that owns the bucket")
    create: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if region != "us-east-1":  # us-east-1 refuses an explicit location constraint
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    })
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                   "BucketKeyEnabled": True}],
    })
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}],
    })
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_insecure_transport(bucket, region))
    if tags:
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set})
    return True


def exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as err:
        if _code(err) in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def upload_artifacts(s3: Any, bucket: str, artifacts: Mapping[str, PackagedArtifact]) -> UploadReport:
    """Upload each artifact whose content-addressed key is not in the bucket yet."""
    report = UploadReport()
    for name in sorted(artifacts):
        artifact = artifacts[name]
        if exists(s3, bucket, artifact.key):
            report.skipped.append(name)
            continue
        s3.upload_file(str(artifact.path), bucket, artifact.key,
                       ExtraArgs={"Metadata": {"sha256": artifact.sha256}})
        report.uploaded.append(name)
        report.bytes += artifact.path.stat().st_size
    return report


def template_key(body: str) -> str:
    return f"{TEMPLATE_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}.json"


def upload_template(s3: Any, bucket: str, body: str) -> tuple[str, UploadReport]:
    """Store the rendered platform template under its hash (too big for an inline TemplateBody)."""
    key = template_key(body)
    report = UploadReport()
    if exists(s3, bucket, key):
        report.skipped.append("platform-template")
    else:
        data = body.encode()
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
        report.uploaded.append("platform-template")
        report.bytes += len(data)
    return key, report


def object_url(bucket: str, key: str, region: str) -> str:
    """The HTTPS URL CloudFormation reads a template from (China regions use another suffix)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{key}"
