"""The IAM actions CloudFormation's resource handlers call, per resource type.

Each resource type's provider schema lists, per handler (create, read, update, delete, list), the
actions the handler calls with the stack's credentials: the service role's when one is given, else
the caller's. cfn-lint bundles these schemas and `schema_permissions` reads them. cfn-lint is only a
development dependency, so the CLI reads the same data from `handler_permissions.json`, a snapshot
for every type the platform and project templates use; a test keeps the snapshot equal to the
schemas, and `python -m battleshiper_cli.handler_permissions` rewrites it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

# `list` serves no stack operation: CloudFormation only creates, reads, updates and deletes.
HANDLERS = ("create", "read", "update", "delete")
# One region's schemas: the types used here have the same handlers everywhere they exist.
SCHEMA_REGION = "us-east-1"
SNAPSHOT = Path(__file__).with_name("handler_permissions.json")
# A few schemas list entries that name no IAM action (e.g. "s3:REST.PUT.OBJECT"); those are dropped.
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")

Lookup = Callable[[str], frozenset[str]]


def normalise(permission: str) -> str | None:
    """`Batch:RegisterJobDefinition` -> `batch:RegisterJobDefinition`, `s3:getObject` -> `s3:GetObject`
    (IAM ignores case; one spelling keeps the union free of duplicates); None if it names no action."""
    service, _, verb = permission.partition(":")
    action = f"{service.lower()}:{verb[:1].upper()}{verb[1:]}"
    return action if IAM_ACTION.match(action) else None


def resource_types(template: Mapping[str, Any]) -> list[str]:
    return sorted({r["Type"] for r in template.get("Resources", {}).values()})


@cache
def _schema_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")  # located, not imported: the data is all we need
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@cache
def _schema_hashes() -> dict[str, str]:
    hashes: dict[str, str] = json.loads((_schema_dir() / "providers" / f"{SCHEMA_REGION}.json").read_text())
    return hashes


@cache
def schema_permissions(resource_type: str) -> frozenset[str]:
    """The union of the create/read/update/delete handler permissions in cfn-lint's bundled schema."""
    digest = _schema_hashes().get(resource_type)
    if digest is None:
        raise KeyError(f"no provider schema for {resource_type} in {SCHEMA_REGION}")
    schema = json.loads((_schema_dir() / "resources" / f"{digest}.json").read_text())
    handlers = schema.get("handlers", {})
    listed = (p for h in HANDLERS for p in handlers.get(h, {}).get("permissions", []))
    return frozenset(distinct(a for a in map(normalise, listed) if a))


def distinct(actions: Iterable[str]) -> list[str]:
    """One spelling per action, sorted: schemas spell some differently (`batch:UnTagResource`,
    `batch:UntagResource`) and IAM ignores case."""
    spellings: dict[str, str] = {}
    for action in actions:
        spellings[action.lower()] = max(action, spellings.get(action.lower(), action))
    return sorted(spellings.values())


@cache
def _snapshot() -> dict[str, list[str]]:
    table: dict[str, list[str]] = json.loads(SNAPSHOT.read_text())
    return table


def snapshot_permissions(resource_type: str) -> frozenset[str]:
    """The same as `schema_permissions`, from the snapshot shipped with the CLI."""
    try:
        return frozenset(_snapshot()[resource_type])
    except KeyError:
        raise KeyError(f"{resource_type} is not in {SNAPSHOT.name}: run "
                       "`python -m battleshiper_cli.handler_permissions` to refresh it") from None


def template_permissions(template: Mapping[str, Any],
                         lookup: Lookup = schema_permissions) -> dict[str, frozenset[str]]:
    """Resource type -> the handler permissions it needs, for every type in a synthesized template."""
    return {t: lookup(t) for t in resource_types(template)}


def union(per_type: Mapping[str, Iterable[str]]) -> list[str]:
    return distinct(a for actions in per_type.values() for a in actions)


def render_snapshot(types: Iterable[str]) -> str:
    return json.dumps({t: sorted(schema_permissions(t)) for t in sorted(set(types))}, indent=1) + "\n"


def snapshot_types() -> list[str]:
    """Every resource type of the platform and project templates (default configuration)."""
    from templates.config import PlatformConfig, placeholder_artifacts
    from templates.platform import build_platform_template
    from templates.project import build_project_template

    config = PlatformConfig(artifacts=placeholder_artifacts())
    templates = (build_platform_template(config), build_project_template(config))
    return sorted({t for template in templates for t in resource_types(template.to_dict())})


def main() -> None:
    SNAPSHOT.write_text(render_snapshot(snapshot_types()))
    print(f"wrote {SNAPSHOT.name}")


if __name__ == "__main__":
    main()
