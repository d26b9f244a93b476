"""Creates a project's stack when a project is created (ticketed event `battleshiper.init`).

The stack comes from the shipped project template (the `project-template` artifact), with the
platform's CloudFormation service role and the template hash tag that `battleshiper update` rolls
forward. Idempotent, keyed on the stack's state (reference defects 30, 31): a stack in a good state is
simply recorded, one in progress is waited for, a failed first creation (`ROLLBACK_COMPLETE`) is
deleted and created again.
"""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from lambdas.pipeline.handlers import ticketed_function, verified_ticket
from lambdas.shared import lifecycle, names, project_stack
from lambdas.shared.deps import Deps
from lambdas.shared.entry import lambda_handler
from lambdas.shared.log import log
from lambdas.shared.models import Project, ProjectStatus
from lambdas.shared.names import Env
from lambdas.shared.projectlog import ProjectLog

GOOD = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
RECREATE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "DELETE_COMPLETE")
WAIT = {"Delay": 5, "MaxAttempts": 160}  # inside the function's 900 s


class StackFailed(Exception):
    """The stack could not be created; the message (CloudFormation's reason) is for the user."""


def init_event(deps: Deps, event: dict[str, Any]) -> Project | None:
    ticket = verified_ticket(deps, event, "init", names.INIT_DETAIL_TYPE)
    if ticket is None:
        return None
    project = deps.store.projects.get(name=ticket.project)
    if project is None or project.owner_id != ticket.subject or project.status == ProjectStatus.DELETING:
        log("init: no such project for this ticket, or being deleted", project=ticket.project)
        return None
    return initialize(deps, project)


def template_url(deps: Deps) -> str:
    region = deps.cloudformation.meta.region_name
    return f"https://{deps.env[Env.ARTIFACTS_BUCKET]}.s3.{region}.amazonaws.com/{deps.env[Env.PROJECT_TEMPLATE_KEY]}"


def describe(deps: Deps, stack: str) -> dict[str, Any] | None:
    try:
        found = deps.cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise
    return found[0] if found else None


def _failure_reason(deps: Deps, stack: str, fallback: str) -> str:
    try:
        for e in deps.cloudformation.describe_stack_events(StackName=stack)["StackEvents"]:
            if e.get("ResourceStatus", "").endswith("_FAILED") and e.get("ResourceStatusReason"):
                return f"{e.get('LogicalResourceId')}: {e['ResourceStatusReason']}"[:500]
    except ClientError:
        pass
    return fallback


def ensure_stack(deps: Deps, project: str, project_log: ProjectLog) -> str:
    """The project's stack, created if needed and complete; raises StackFailed."""
    cfn, stack = deps.cloudformation, deps.names.project_stack(project)
    current = describe(deps, stack)
    if current and current["StackStatus"] in RECREATE and current["StackStatus"] != "DELETE_COMPLETE":
        project_log.line(f"stack {stack} is {current['StackStatus']}: deleting it to create it again")
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=WAIT)
        current = None
    if current is None or current["StackStatus"] == "DELETE_COMPLETE":
        project_log.line(f"creating stack {stack}")
        cfn.create_stack(
            StackName=stack,
            TemplateURL=template_url(deps),
            Parameters=project_stack.create_parameters(project, deps.env),
            RoleARN=deps.env[Env.PROJECT_STACK_ROLE_ARN],
            Capabilities=["CAPABILITY_IAM"],
            Tags=[
                {"Key": deps.names.template_hash_tag, "Value": deps.env[Env.PROJECT_TEMPLATE_HASH]},
                {"Key": deps.names.project_tag, "Value": project},
                {"Key": deps.names.stack_tag, "Value": deps.names.stack},
            ],
        )
    status = (describe(deps, stack) or {}).get("StackStatus", "")
    if status.endswith("_IN_PROGRESS"):
        waiter = "stack_update_complete" if status.startswith("UPDATE") else "stack_create_complete"
        with contextlib.suppress(Exception):  # the state below says what happened
            cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig=WAIT)
        status = (describe(deps, stack) or {}).get("StackStatus", "")
    if status not in GOOD:
        raise StackFailed(_failure_reason(deps, stack, f"stack {stack} is {status or 'missing'}"))
    return stack


def initialize(deps: Deps, project: Project) -> Project | None:
    project_log = ProjectLog(deps.logs, deps.names.project_log_group(project.name, "event"), "init")
    try:
        stack = ensure_stack(deps, project.name, project_log)
    except StackFailed as err:
        project_log.line(f"project stack not created: {err}")
        lifecycle.stack_failed(deps, project.name, str(err))
        return deps.store.projects.get(name=project.name)
    finally:
        project_log.flush()
    lifecycle.stack_ready(deps, project, stack)
    project_log.line(f"project stack {stack} is ready")
    project_log.flush()
    return deps.store.projects.get(name=project.name)


create = ticketed_function("init", init_event)
handler = lambda_handler(create)
