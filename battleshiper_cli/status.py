"""`battleshiper status`: the platform stack, the artifact versions it runs, and which project stacks
still run an older project template (the ones `battleshiper update` would roll forward)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from battleshiper_cli.project.views import parameters, require_platform, stack_outputs
from battleshiper_cli.stacks import StackOps
from lambdas.shared.names import Names
from templates import ids
from templates.config import ARTIFACT_NAMES

# Artifacts are content addressed: `<artifact>/<sha256>.<ext>` (docs/ARCHITECTURE.md, Artifacts).
ARTIFACT_KEY = re.compile(rf"^({'|'.join(map(re.escape, ARTIFACT_NAMES))})/([0-9a-f]{{64}})\.[a-z0-9.]+$")


@dataclass
class ProjectStackState:
    stack: str
    project: str
    status: str
    template_hash: str | None
    behind: bool


@dataclass
class PlatformStatus:
    stack: str
    status: str
    reason: str
    created: str
    updated: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    artifacts: dict[str, str]  # artifact -> key in the artifacts bucket
    project_template_hash: str | None
    projects: list[ProjectStackState] = field(default_factory=list)

    @property
    def behind(self) -> list[ProjectStackState]:
        return [p for p in self.projects if p.behind]

    def as_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["projects_behind"] = [p.stack for p in self.behind]
        return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def artifact_keys(template: Any) -> dict[str, str]:
    """The content-addressed artifact keys a template refers to, by artifact."""
    if isinstance(template, str):  # botocore decodes JSON templates; YAML would stay a string
        try:
            template = json.loads(template)
        except ValueError:
            return {}
    found: dict[str, str] = {}
    for text in _strings(template):
        match = ARTIFACT_KEY.match(text)
        if match:
            found[match.group(1)] = text
    return {name: found[name] for name in ARTIFACT_NAMES if name in found}


def _time(stack: dict[str, Any], key: str) -> str:
    value = stack.get(key)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value or "")


def platform_status(stacks: StackOps, names: Names) -> PlatformStatus:
    stack = require_platform(stacks, names.stack)
    outputs = stack_outputs(stack)
    template = stacks.cfn.get_template(StackName=names.stack).get("TemplateBody", {})
    current = outputs.get(ids.OUTPUT_PROJECT_TEMPLATE_HASH)
    projects = []
    for s in sorted(stacks.list_stacks(names.project_stack_prefix), key=lambda s: s["StackName"]):
        tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
        template_hash = tags.get(names.template_hash_tag)
        projects.append(ProjectStackState(
            s["StackName"], names.project_of_stack(s["StackName"]) or "", s["StackStatus"], template_hash,
            behind=current is not None and template_hash != current,
        ))
    return PlatformStatus(
        stack=names.stack,
        status=stack["StackStatus"],
        reason=stack.get("StackStatusReason", ""),
        created=_time(stack, "CreationTime"),
        updated=_time(stack, "LastUpdatedTime"),
        parameters=parameters(stack),
        outputs=outputs,
        artifacts=artifact_keys(template),
        project_template_hash=current,
        projects=projects,
    )
