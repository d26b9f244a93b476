"""Buckets and their policies, the same in every subsystem: private, encrypted, owner-enforced,
TLS only; a CloudFront-served bucket is readable by its one distribution and nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from awacs.aws import Action, Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Tags, Template
from troposphere.cloudfront import OriginAccessControl, OriginAccessControlConfig
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
)

from templates.common import arn
from templates.config import PlatformConfig

ABORT_UPLOADS = LifecycleRule(
    Id="abort-incomplete-uploads",
    Status="Enabled",
    AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
)


def private_bucket(
    t: Template,
    logical_id: str,
    config: PlatformConfig,
    *,
    lifecycle: Sequence[LifecycleRule] = (ABORT_UPLOADS,),
) -> Bucket:
    return t.add_resource(
        Bucket(
            logical_id,
            DeletionPolicy="Delete",  # `battleshiper delete` empties it first
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                    )
                ]
            ),
            PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                BlockPublicAcls=True,
                BlockPublicPolicy=True,
                IgnorePublicAcls=True,
                RestrictPublicBuckets=True,
            ),
            OwnershipControls=OwnershipControls(
                Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            LifecycleConfiguration=LifecycleConfiguration(Rules=list(lifecycle)),
            Tags=Tags(**{config.names.stack_tag: config.stack_name, "Name": logical_id}),
        )
    )


def _objects(bucket: Bucket) -> Sub:
    return Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))


def tls_only(bucket: Bucket) -> Statement:
    return Statement(
        Sid="TlsOnly",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action("s3", "*")],
        Resource=[GetAtt(bucket, "Arn"), _objects(bucket)],
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


def bucket_policy(t: Template, bucket: Bucket, statements: Sequence[Statement] = ()) -> BucketPolicy:
    """`statements` plus the TLS-only deny."""
    return t.add_resource(
        BucketPolicy(
            f"{bucket.title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[*statements, tls_only(bucket)]),
        )
    )


def cloudfront_readable(t: Template, bucket: Bucket, distribution_logical_id: str) -> BucketPolicy:
    """Only this distribution may read (reference defect 16). ListBucket lets S3 answer a missing
    file with 404 rather than 403 (defect 64)."""
    distribution = arn("cloudfront", f"distribution/${{{distribution_logical_id}}}", region=False)
    only_it = Condition(StringEquals("AWS:SourceArn", distribution))
    cloudfront = Principal("Service", ["cloudfront.amazonaws.com"])
    return bucket_policy(
        t,
        bucket,
        [
            Statement(
                Sid="DistributionReads",
                Effect=Allow,
                Principal=cloudfront,
                Action=[Action("s3", "GetObject")],
                Resource=[_objects(bucket)],
                Condition=only_it,
            ),
            Statement(
                Sid="DistributionLists",
                Effect=Allow,
                Principal=cloudfront,
                Action=[Action("s3", "ListBucket")],
                Resource=[GetAtt(bucket, "Arn")],
                Condition=only_it,
            ),
        ],
    )


def origin_access_control(t: Template, logical_id: str, name: str, description: str) -> OriginAccessControl:
    return t.add_resource(
        OriginAccessControl(
            logical_id,
            OriginAccessControlConfig=OriginAccessControlConfig(
                Name=name,
                Description=description,
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )
