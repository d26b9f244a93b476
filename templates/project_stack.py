"""What project stacks are made with: the CloudFormation service role that creates them and the
permissions boundary every project role carries."""

from __future__ import annotations

from awacs.aws import Condition, Null, PolicyDocument, StringEquals
from troposphere import GetAtt, Ref, Template
from troposphere.batch import JobQueue
from troposphere.iam import ManagedPolicy, Role
from troposphere.s3 import Bucket

from lambdas.shared import names
from templates import ids
from templates.common import actions, allow, arn, bucket_arn, service_role
from templates.config import PlatformConfig
from templates.parameters import PARAM_ARTIFACTS_BUCKET


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
            # Project configuration only (sealed with a project context), never the users' GitHub tokens.
            allow(["kms:Decrypt"], [GetAtt(ids.TOKEN_KEY, "Arn")],
                  Condition=Condition(Null(f"kms:EncryptionContext:{names.CONFIG_CONTEXT_KEY}", "false"))),
        ]),
    ))


# The services project roles are made for: the server function, the build job (its job and execution
# roles) and the build rule that submits it.
PASSED_TO_SERVICES = ["ecs-tasks.amazonaws.com", "events.amazonaws.com", "lambda.amazonaws.com"]

_KMS = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
# Handler permissions of the project template's resource types that the service role does not hold.
# tests/templates/test_handler_permissions.py checks that the role holds every other one (and nothing
# else), and that each of these is still listed by a handler and not granted.
WITHHELD_HANDLER_PERMISSIONS = {
    "iam:PutRolePermissionsBoundary": "would replace the boundary every project role carries",
    "iam:DeleteRolePermissionsBoundary": "would lift the boundary every project role carries",
    **dict.fromkeys(_KMS, "only with a customer managed key (KmsKeyArn, KmsKeyId), which project stacks "
                          "never name; a key has no name to scope a grant by"),
    "logs:CreateLogDelivery": "only for data-protection audit destinations, which project log groups do "
                              "not have; it has no resource-level permission",
}

LOG_GROUP_ACTIONS = actions(
    "logs", "CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy",
    "TagResource", "UntagResource", "ListTagsForResource", "AssociateKmsKey", "DisassociateKmsKey",
    "PutDataProtectionPolicy", "GetDataProtectionPolicy", "DeleteDataProtectionPolicy", "PutIndexPolicy",
    "DeleteIndexPolicy", "PutResourcePolicy", "DeleteResourcePolicy", "PutBearerTokenAuthentication",
    "PutLogGroupDeletionProtection",
)
# The function only: its versions and the `live` alias are the pipeline's (the deploy function's role).
FUNCTION_ACTIONS = actions(
    "lambda", "CreateFunction", "DeleteFunction", "GetFunction", "UpdateFunctionCode",
    "UpdateFunctionConfiguration", "PublishVersion", "AssociateRuntimeAlias", "TagResource",
    "UntagResource", "PutFunctionConcurrency", "DeleteFunctionConcurrency", "GetFunctionCodeSigningConfig",
    "PutFunctionCodeSigningConfig", "DeleteFunctionCodeSigningConfig", "GetRuntimeManagementConfig",
    "PutRuntimeManagementConfig", "GetFunctionRecursionConfig", "PutFunctionRecursionConfig",
    "GetFunctionScalingConfig", "PutFunctionScalingConfig",
)
# Reads the handlers make that no project-named resource can scope: the network a function might
# attach to, log-group and job-definition listings, code-signing configs, layers.
UNSCOPED_READS = [
    "batch:DescribeJobDefinitions", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "elasticfilesystem:DescribeMountTargets", "lambda:GetCodeSigningConfig", "lambda:GetLayerVersion",
    "logs:DescribeIndexPolicies", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
    "s3files:ListMountTargets",
]


def add_project_stack_role(t: Template, config: PlatformConfig, boundary: ManagedPolicy) -> Role:
    """CloudFormation creates project stacks with this role: the handler permissions of the project
    template's resource types, on project-named resources only, and roles only under the project path
    with the boundary attached (reference defect 1)."""
    n = config.names
    prefix = n.project_function_prefix
    roles = arn("iam", f"role{n.project_role_path}*", region=False)
    log_groups = [arn("logs", f"log-group:{n.project_log_group_prefix}*"),
                  arn("logs", f"log-group:{n.project_log_group_prefix}*:*")]
    server_code = config.artifact("project-server").key
    statements = [
        allow(["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"], [roles],
              Condition=Condition(StringEquals("iam:PermissionsBoundary", Ref(boundary)))),
        # UpdateAssumeRolePolicy because the IAM::Role update handler changes trust policies with it:
        # only of roles under the project path, which keep the boundary.
        allow(actions("iam", "DeleteRole", "DeleteRolePolicy", "DetachRolePolicy", "GetRole", "GetRolePolicy",
                      "ListRolePolicies", "ListAttachedRolePolicies", "TagRole", "UntagRole", "UpdateRole",
                      "UpdateRoleDescription", "UpdateAssumeRolePolicy"), [roles]),
        allow(["iam:PassRole"], [roles],
              Condition=Condition(StringEquals("iam:PassedToService", PASSED_TO_SERVICES))),
        allow(LOG_GROUP_ACTIONS, log_groups),
        allow(UNSCOPED_READS, ["*"]),
        # The pattern covers every revision (`<name>:<revision>`).
        allow(actions("batch", "RegisterJobDefinition", "DeregisterJobDefinition", "TagResource",
                      "UntagResource"), [arn("batch", f"job-definition/{n.job_definition_prefix}*")]),
        allow(actions("events", "PutRule", "DeleteRule", "DescribeRule", "PutTargets", "RemoveTargets",
                      "ListTargetsByRule", "TagResource", "UntagResource", "ListTagsForResource"),
              [arn("events", f"rule/{n.bus}/{n.project_build_rule_prefix}*")]),
        allow(FUNCTION_ACTIONS, [arn("lambda", f"function:{prefix}*")]),
        # For features project stacks do not use (capacity providers, log-group audit findings to
        # Firehose): project names only.
        allow(["lambda:PassCapacityProvider"], [arn("lambda", f"capacity-provider:{prefix}*")]),
        allow(["firehose:TagDeliveryStream"], [arn("firehose", f"deliverystream/{prefix}*")]),
        # The server function's first code: the placeholder artifact.
        allow(["s3:GetObject", "s3:GetObjectVersion"],
              [bucket_arn(Ref(PARAM_ARTIFACTS_BUCKET), f"/{server_code}")]),
    ]
    return service_role(t, ids.PROJECT_STACK_ROLE, "cloudformation.amazonaws.com", statements)
