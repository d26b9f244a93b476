"""What project stacks are made with: the CloudFormation service role that creates them and the
permissions boundary every project role carries."""

from __future__ import annotations

from awacs.aws import Condition, PolicyDocument, StringEquals
from troposphere import Ref, Template
from troposphere.batch import JobQueue
from troposphere.iam import ManagedPolicy, Role
from troposphere.s3 import Bucket

from templates import ids
from templates.common import PARAM_ARTIFACTS_BUCKET, actions, allow, arn, bucket_arn, service_role
from templates.config import PlatformConfig


def add_project_boundary(t: Template, config: PlatformConfig, queue: JobQueue,
                         bucket: Bucket) -> ManagedPolicy:
    """The most any project role may ever do, whatever a project stack says."""
    n = config.names
    return t.add_resource(ManagedPolicy(
        ids.PROJECT_BOUNDARY, ManagedPolicyName=n.project_boundary_policy,
        Description="Permissions boundary of every role a project stack creates",
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                  [arn("logs", f"log-group:{n.project_log_group_prefix}*"),
                   arn("logs", f"log-group:{n.project_log_group_prefix}*:*")]),
            allow(["s3:GetObject", "s3:PutObject"], [bucket_arn(Ref(bucket), "/*")]),
            allow(["batch:SubmitJob"],
                  [Ref(queue), arn("batch", f"job-definition/{n.job_definition_prefix}*")]),
        ]),
    ))


def add_project_stack_role(t: Template, config: PlatformConfig, boundary: ManagedPolicy) -> Role:
    """CloudFormation creates project stacks with this role: only project-named resources, and roles
    only under the project path with the boundary attached (reference defect 1)."""
    n = config.names
    roles = arn("iam", f"role{n.project_role_path}*", region=False)
    functions = arn("lambda", f"function:{n.project_function_prefix}*")
    log_groups = [arn("logs", f"log-group:{n.project_log_group_prefix}*"),
                  arn("logs", f"log-group:{n.project_log_group_prefix}*:*")]
    server_code = config.artifact("project-server").key
    statements = [
        allow(["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"], [roles],
              Condition=Condition(StringEquals("iam:PermissionsBoundary", Ref(boundary)))),
        allow(actions("iam", "DeleteRole", "DeleteRolePolicy", "DetachRolePolicy", "GetRole", "GetRolePolicy",
                      "ListRolePolicies", "ListAttachedRolePolicies", "TagRole", "UntagRole",
                      "UpdateAssumeRolePolicy", "PassRole"), [roles]),
        allow(actions("logs", "CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy",
                      "DeleteRetentionPolicy", "TagResource", "UntagResource", "TagLogGroup", "UntagLogGroup",
                      "ListTagsForResource", "ListTagsLogGroup"), log_groups),
        allow(["logs:DescribeLogGroups", "batch:DescribeJobDefinitions"], ["*"]),
        allow(["batch:RegisterJobDefinition", "batch:DeregisterJobDefinition"], ["*"]),
        allow(["batch:TagResource", "batch:UntagResource"],
              [arn("batch", f"job-definition/{n.job_definition_prefix}*")]),
        allow(actions("events", "PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule",
                      "PutTargets", "RemoveTargets", "ListTargetsByRule", "TagResource", "UntagResource",
                      "ListTagsForResource"),
              [arn("events", f"rule/{n.bus}/{n.project_build_rule_prefix}*")]),
        allow(actions("lambda", "CreateFunction", "DeleteFunction", "GetFunction", "GetFunctionConfiguration",
                      "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion",
                      "ListVersionsByFunction", "CreateAlias", "UpdateAlias", "DeleteAlias", "GetAlias",
                      "TagResource", "UntagResource", "ListTags"),
              [functions, arn("lambda", f"function:{n.project_function_prefix}*:*")]),
        # The server function's first code: the placeholder artifact.
        allow(["s3:GetObject"], [bucket_arn(Ref(PARAM_ARTIFACTS_BUCKET), f"/{server_code}")]),
    ]
    return service_role(t, ids.PROJECT_STACK_ROLE, "cloudformation.amazonaws.com", statements)


