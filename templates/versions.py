"""A function's `AWS::Lambda::Version` that CloudFormation replaces exactly when the function's $LATEST
changes, so that every change of code or configuration publishes a version and reaches what serves.

CloudFormation publishes a version only when the Version resource is replaced (a new logical id or a
new Description), and it fails that replacement when $LATEST has not changed since the last version.
So the Version's identity is a hash of the function's properties a version snapshots, as rendered (code
key, environment, runtime, memory, timeout, architecture, layers, handler, role, description, logging),
and its Description also carries the values of the template parameters the configuration uses (the
rendered template cannot know them: a changed domain is a parameter change, not a template change).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from troposphere import Ref, Sub, Template
from troposphere.awslambda import Function, Version

from templates.config import PlatformConfig

# Function properties a published version does not snapshot: a change to them alone leaves $LATEST as
# it was, so they must not replace the Version (CloudFormation would fail to publish).
UNVERSIONED = frozenset({"Tags", "ReservedConcurrentExecutions"})
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def versioned_properties(function: Function) -> dict[str, Any]:
    properties: dict[str, Any] = function.to_dict()["Properties"]
    return {k: v for k, v in properties.items() if k not in UNVERSIONED}


def _parameters_used(value: Any, parameters: set[str]) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str) and value["Ref"] in parameters:
            yield value["Ref"]
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str):
            yield from (v for v in _SUB_VARIABLE.findall(text) if v in parameters)
        for item in value.values():
            yield from _parameters_used(item, parameters)
    elif isinstance(value, list):
        for item in value:
            yield from _parameters_used(item, parameters)


def configuration_hash(config: PlatformConfig, function: Function) -> str:
    """Short hash of what the function's next version will hold, as far as the template says."""
    inputs: list[Any] = [versioned_properties(function)]
    if "Layers" in inputs[0]:  # a layer is a Ref: its content is the layer artifact
        inputs.append(config.artifact("layer").key)
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]


def published_version(
    t: Template, config: PlatformConfig, logical_prefix: str, function: Function
) -> Version:
    """The function's Version, `<logical_prefix><hash>`; its description must stay within Lambda's 256
    characters with the parameter values filled in."""
    digest = configuration_hash(config, function)
    # Not the code's bucket: its key is content addressed (hashed above), and the same code from another
    # bucket is no new version.
    configuration = {k: v for k, v in versioned_properties(function).items() if k != "Code"}
    used = sorted(set(_parameters_used(configuration, set(t.parameters))))
    description = " ".join([f"configuration {digest}", *(f"${{{p}}}" for p in used)])
    return t.add_resource(
        Version(
            f"{logical_prefix}{digest}",
            FunctionName=Ref(function),
            Description=Sub(description) if used else description,
        )
    )
