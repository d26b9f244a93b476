"""What the operator sees of projects: the platform stack, the records in DynamoDB, quotas, URLs.

The CLI reads the platform's tables directly with the operator's credentials, through the same
`Store` the Lambdas use, over the tables `Names` derives from the stack name. Views are plain data
(`as_json`) so the commands only choose between a table and JSON.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from battleshiper_cli.context import Context
from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.stacks import StackOps
from lambdas.shared import environment, names
from lambdas.shared.models import Deployment, Limits, Project, Subscription, User
from lambdas.shared.store import Store
from templates.parameters import PARAM_DOMAIN

EXIT_PROJECT_MISSING = 1
EXIT_PLATFORM_MISSING = 2
PROJECT_EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 no such project (or declined); 2 no platform stack, bad input or AWS "
    "error; 3 the operation failed part-way."
)

DEPLOYMENTS_SHOWN = 10


class PlatformMissing(BattleshiperError):
    exit_code = EXIT_PLATFORM_MISSING


class ProjectMissing(BattleshiperError):
    exit_code = EXIT_PROJECT_MISSING


def store_for(c: Context) -> Store:
    dynamodb = c.clients.resource("dynamodb", region=c.region_name)
    return Store(dynamodb, names.table_env(c.names))


def require_platform(stacks: StackOps, stack_name: str) -> dict[str, Any]:
    """The platform stack's description; PlatformMissing (exit 2) if it does not exist."""
    stack = stacks.describe(stack_name)
    if stack is None or stack["StackStatus"] in ("REVIEW_IN_PROGRESS", "DELETE_COMPLETE"):
        raise PlatformMissing(
            f"no platform stack {stack_name}",
            hint="pass the --stack-name and --region of an installed platform, or run `battleshiper setup`",
        )
    return stack


def parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def hosts(project: Project) -> list[str]:
    """The project's host labels: its name first (always served), then its other aliases."""
    return list(dict.fromkeys([project.name, *project.aliases]))


def urls(project: Project, domain: str) -> list[str]:
    return [f"https://{host}.{domain}" for host in hosts(project)]


def utc(seconds: int | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else ""


@dataclass
class Platform:
    """The installation the CLI talks to: its stack, domain and tables."""

    names: names.Names
    stack: dict[str, Any]
    store: Store
    stacks: StackOps

    @classmethod
    def open(cls, c: Context, stacks: StackOps | None = None) -> Platform:
        ops = stacks or StackOps(c.client("cloudformation"))
        stack = require_platform(ops, c.stack_name)
        return cls(c.names, stack, store_for(c), ops)

    @property
    def domain(self) -> str:
        return parameters(self.stack).get(PARAM_DOMAIN, "")

    def project(self, name: str) -> Project:
        project = self.store.projects.get(name=name)
        if project is None:
            raise ProjectMissing(
                f"no project {name} in {self.names.stack}",
                hint="`battleshiper project list` shows the projects",
            )
        return project

    def projects(self) -> Iterator[Project]:
        return self.store.projects.scan()

    def deployments(self, project: str) -> Iterator[Deployment]:
        return self.store.deployments.query(newest_first=True, project_name=project)

    def project_stack_status(self, project: Project) -> str:
        stack = self.stacks.describe(project.stack_name or self.names.project_stack(project.name))
        return str(stack["StackStatus"]) if stack else "missing"


# --- list ---------------------------------------------------------------------------------------


@dataclass
class ProjectRow:
    name: str
    owner: str
    status: str
    last_deployment: dict[str, Any] | None
    live_deployment: str | None
    aliases: list[str]
    url: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def deployment_summary(d: Deployment) -> dict[str, Any]:
    return {"id": d.deployment_id, "status": d.status.value, "commit": d.commit,
            "created_at": utc(d.created_at)}


def list_projects(platform: Platform) -> list[ProjectRow]:
    owners: dict[str, str] = {}

    def owner(user_id: str) -> str:
        if user_id not in owners:
            user = platform.store.users.get(id=user_id)
            owners[user_id] = user.login if user else user_id
        return owners[user_id]

    rows = []
    for p in sorted(platform.projects(), key=lambda p: p.name):
        last = next(platform.deployments(p.name), None)
        rows.append(ProjectRow(
            p.name, owner(p.owner_id), p.status.value, deployment_summary(last) if last else None,
            p.live_deployment, hosts(p), urls(p, platform.domain)[0],
        ))
    return rows


# --- show ---------------------------------------------------------------------------------------


@dataclass
class Usage:
    used: int
    limit: int

    def as_json(self) -> dict[str, int]:
        return {"used": self.used, "limit": self.limit}


@dataclass
class ProjectDetail:
    project: Project
    owner: User | None
    subscription: Subscription | None
    stack_name: str
    stack_status: str
    deployments: list[Deployment]
    quota: dict[str, Usage]
    urls: list[str]
    now: int = field(default_factory=lambda: int(time.time()))

    @property
    def lock_state(self) -> str:
        lock = self.project.lock
        if lock is None:
            return "unlocked"
        if lock.expires_at <= self.now:
            return f"expired lock of {lock.owner} (since {utc(lock.expires_at)})"
        return f"held by {lock.owner} until {utc(lock.expires_at)}"

    def as_json(self) -> dict[str, Any]:
        return {
            # Sealed values are of no use here: `project env list` shows the variables.
            "project": self.project.model_dump(mode="json", exclude={"environment"}),
            "owner": {"id": self.owner.id, "login": self.owner.login} if self.owner else None,
            "subscription": self.subscription.id if self.subscription else None,
            "stack": {"name": self.stack_name, "status": self.stack_status},
            "lock": ({"owner": self.project.lock.owner, "expires_at": utc(self.project.lock.expires_at),
                      "expired": self.project.lock.expires_at <= self.now} if self.project.lock else None),
            "deployments": [d.model_dump(mode="json") for d in self.deployments],
            "quota": {k: u.as_json() for k, u in self.quota.items()},
            "urls": self.urls,
        }


def builds_today(user: User, now: int) -> int:
    """Builds counted in today's (UTC) window; an older window counts as none."""
    counter = user.build_counter
    return counter.count if counter.window_start // 86400 == now // 86400 else 0


def quota(platform: Platform, project: Project, owner: User | None, limits: Limits,
          now: int) -> dict[str, Usage]:
    owned = sum(1 for _ in platform.store.projects.query(names.PROJECTS_OWNER_INDEX,
                                                         owner_id=project.owner_id))
    variables, size = environment.usage(project.environment)
    return {
        "projects": Usage(owned, limits.project_count),
        "aliases": Usage(len(hosts(project)), limits.alias_count),
        "builds_today": Usage(builds_today(owner, now) if owner else 0, limits.daily_builds),
        "variables": Usage(variables, limits.env_variables),
        "variable_bytes": Usage(size, limits.env_bytes),
    }


def show_project(platform: Platform, name: str, *, now: int | None = None,
                 deployments: int = DEPLOYMENTS_SHOWN) -> ProjectDetail:
    now = int(time.time()) if now is None else now
    project = platform.project(name)
    owner = platform.store.users.get(id=project.owner_id)
    subscription = None
    if owner and owner.subscription_id:
        subscription = platform.store.subscriptions.get(id=owner.subscription_id)
    limits = subscription.limits if subscription else Limits()
    return ProjectDetail(
        project=project,
        owner=owner,
        subscription=subscription,
        stack_name=project.stack_name or platform.names.project_stack(name),
        stack_status=platform.project_stack_status(project),
        deployments=list(itertools.islice(platform.deployments(name), deployments)),
        quota=quota(platform, project, owner, limits, now),
        urls=urls(project, platform.domain),
        now=now,
    )

