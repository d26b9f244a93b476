"""The least-privilege IAM policy for the credentials that run `setup`, `update` and `delete`.

Two parts. The calls the CLI makes itself: change sets on the platform stack, updates and deletes of
project stacks, the artifacts bucket, the preflight reads, the teardown of buckets, tables and log
groups. And the handler permissions of every resource type in the platform template: the platform
stack has no service role, so CloudFormation calls AWS with these same credentials; `aws:CalledVia`
limits those grants to calls CloudFormation makes. (sts:GetCallerIdentity needs no permission.)
"""

from __future__ import annotations

from typing import Any

from battleshiper_cli import handler_permissions
from battleshiper_cli.artifacts import partition as partition_of
from lambdas.shared.names import Names
from templates import ids
from templates.config import PlatformConfig, placeholder_artifacts
from templates.platform import build_platform_template

CERTIFICATE_REGION = "us-east-1"  # CloudFront's certificates live there, whatever the platform's region


def statement(sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    entry: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
                             "Resource": resources}
    if condition:
        entry["Condition"] = condition
    return entry


def cli_statements(names: Names, partition: str) -> list[dict[str, Any]]:
    stack = names.stack
    cfn = f"arn:{partition}:cloudformation:*:*"
    s3 = f"arn:{partition}:s3:::"
    artifacts = names.artifacts_bucket("*", "*")
    stack_reads = ["cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks",
                   "cloudformation:GetTemplate", "cloudformation:ListStackResources"]
    return [
        statement("PlatformStack", [
            *stack_reads, "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack",
            "cloudformation:TagResource",
        ], [f"{cfn}:stack/{stack}/*", f"{cfn}:changeSet/{stack}-*/*"]),
        # update rolls project stacks forward, delete removes them.
        statement("ProjectStacks", [*stack_reads, "cloudformation:UpdateStack", "cloudformation:DeleteStack",
                                    "cloudformation:TagResource"],
                  [f"{cfn}:stack/{names.project_stack_prefix}*/*"]),
        # Finding the project stacks: DescribeStacks without a stack name.
        statement("ListStacks", ["cloudformation:DescribeStacks"], ["*"]),
        # Project stacks are updated with the service role they were created with.
        statement("PassProjectStackRole", ["iam:PassRole"],
                  [f"arn:{partition}:iam::*:role/{stack}-{ids.PROJECT_STACK_ROLE}-*"],
                  {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
        statement("ArtifactsBucket", [
            "s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
            "s3:PutBucketOwnershipControls", "s3:PutBucketVersioning", "s3:PutBucketPolicy",
            "s3:PutBucketTagging",
        ], [f"{s3}{artifacts}"]),
        # The artifacts bucket and the stack's buckets (CloudFormation names them `<stack>-…`):
        # uploads, the first dashboard files, emptying and deleting them.
        statement("Buckets", ["s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteBucket"],
                  [f"{s3}{stack}-*"]),
        statement("Objects", ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging",
                              "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                  [f"{s3}{stack}-*/*"]),
        statement("Certificates", ["acm:DescribeCertificate"],
                  [f"arn:{partition}:acm:{CERTIFICATE_REGION}:*:certificate/*"]),
        # The GitHub App secret (named `<stack>-github…` as docs/SETUP.md suggests) and the platform's
        # own secrets, which the template reads as dynamic references.
        statement("Secrets", ["secretsmanager:GetSecretValue"], [
            f"arn:{partition}:secretsmanager:*:*:secret:{stack}-github*",
            f"arn:{partition}:secretsmanager:*:*:secret:{stack}/*",
        ]),
        statement("RouteStoreNameFree", ["cloudfront:ListKeyValueStores"], ["*"]),
        statement("Tables", ["dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable"],
                  [f"arn:{partition}:dynamodb:*:*:table/{stack}-*"]),
        statement("FindLogGroups", ["logs:DescribeLogGroups"], ["*"]),
        statement("ProjectLogGroups", ["logs:DeleteLogGroup"],
                  [f"arn:{partition}:logs:*:*:log-group:{names.project_log_group_prefix}*"]),
    ]


def handler_statements(stack_name: str) -> list[dict[str, Any]]:
    """The platform template's handler permissions, one statement per service, on the calls
    CloudFormation makes with the operator's credentials."""
    config = PlatformConfig(stack_name=stack_name, artifacts=placeholder_artifacts())
    template = build_platform_template(config).to_dict()
    per_type = handler_permissions.template_permissions(template, handler_permissions.snapshot_permissions)
    by_service: dict[str, list[str]] = {}
    for action in handler_permissions.union(per_type):
        by_service.setdefault(action.split(":", 1)[0], []).append(action)
    via_cloudformation = {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}
    return [
        statement(f"CloudFormation{''.join(p.capitalize() for p in service.split('-'))}", actions, ["*"],
                  via_cloudformation)
        for service, actions in sorted(by_service.items())
    ]


def operator_policy(stack_name: str, region: str | None = None) -> dict[str, Any]:
    """The policy document; `region` only picks the partition (`aws`, `aws-cn`, `aws-us-gov`)."""
    partition = partition_of(region or "")
    return {"Version": "2012-10-17",
            "Statement": [*cli_statements(Names(stack_name), partition), *handler_statements(stack_name)]}
