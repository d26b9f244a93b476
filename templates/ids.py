"""Logical IDs that one subsystem module references in another (Ref/GetAtt by name), kept in
one place so the modules stay independent of each other's build order."""

# Shared by every Python function.
DEPENDENCY_LAYER = "DependencyLayer"

# Internal
USERS_TABLE = "UsersTable"
PROJECTS_TABLE = "ProjectsTable"
SUBSCRIPTIONS_TABLE = "SubscriptionsTable"
DEPLOYMENTS_TABLE = "DeploymentsTable"
NONCES_TABLE = "NoncesTable"
TABLE_IDS = {  # by kind (`names.TABLES`)
    "users": USERS_TABLE,
    "projects": PROJECTS_TABLE,
    "subscriptions": SUBSCRIPTIONS_TABLE,
    "deployments": DEPLOYMENTS_TABLE,
    "nonces": NONCES_TABLE,
}
SESSION_KEY_SECRET = "SessionKeySecret"
TICKET_KEY_SECRET = "TicketKeySecret"
TOKEN_KEY = "TokenKey"
API_LOG_GROUP = "ApiLogGroup"
DASHBOARD_LOG_GROUP = "DashboardLogGroup"
ROUTER_LOG_GROUP = "RouterLogGroup"
PIPELINE_LOG_GROUP = "PipelineLogGroup"
API = "Api"
DASHBOARD_BUCKET = "DashboardBucket"
DASHBOARD_DISTRIBUTION = "DashboardDistribution"
DASHBOARD_FUNCTION = "DashboardFunction"
DASHBOARD_ALIAS = "DashboardFunctionAliasLive"

# Project edge
PROJECT_BUCKET = "ProjectBucket"
ROUTE_STORE = "RouteStore"
ORIGIN_SECRET = "OriginSecret"
PROJECT_DISTRIBUTION = "ProjectDistribution"
ROUTER_API = "RouterApi"
ROUTER_FUNCTION = "RouterFunction"

# Pipeline
EVENT_BUS = "PipelineEventBus"
BUILD_BUCKET = "BuildAssetBucket"
BUILD_QUEUE = "BuildJobQueue"
PROJECT_STACK_ROLE = "ProjectStackRole"
PROJECT_BOUNDARY = "ProjectPermissionsBoundary"
PIPELINE_DLQ = "PipelineDeadLetterQueue"

# Stack outputs the CLI reads (setup prints them; update and delete find things with them).
OUTPUT_DASHBOARD_URL = "DashboardUrl"
OUTPUT_DASHBOARD_CDN_HOST = "DashboardCdnHost"
OUTPUT_PROJECT_CDN_HOST = "ProjectCdnHost"
OUTPUT_DASHBOARD_BUCKET = "DashboardBucketName"
OUTPUT_PROJECT_BUCKET = "ProjectBucketName"
OUTPUT_BUILD_BUCKET = "BuildAssetBucketName"
OUTPUT_PROJECT_STACK_ROLE = "ProjectStackRoleArn"
OUTPUT_PROJECT_TEMPLATE_KEY = "ProjectTemplateKey"
OUTPUT_PROJECT_TEMPLATE_HASH = "ProjectTemplateHash"
OUTPUT_ARTIFACTS_BUCKET = "ArtifactsBucketName"
