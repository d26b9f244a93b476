"""The principals of a synthesized template: each role with its inline and managed policies and its
permissions boundary, resolved against what the local platform (or a test) created, and which function
assumes which role."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from battleshiper_cli.local.iam.enforce import Principal
from battleshiper_cli.local.iam.policy import Policy


def _logical_of(value: Any) -> str | None:
    """The logical id behind `Ref` / `Fn::GetAtt [id, Arn]`."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else att.split(".", 1)[0])
    return None


def _managed(template: Mapping[str, Any], resolver: Any, value: Any) -> Policy | None:
    logical = _logical_of(value)
    resource = template["Resources"].get(logical or "")
    if resource is None or resource["Type"] != "AWS::IAM::ManagedPolicy":
        return None  # an AWS managed policy: none of our roles relies on one for its calls
    return Policy.from_document(str(logical), resolver.resolve(resource["Properties"]["PolicyDocument"]))


def role_principal(
    template: Mapping[str, Any], resolver: Any, role_id: str, session: str, account: str
) -> Principal:
    props = template["Resources"][role_id]["Properties"]
    policies = [
        Policy.from_document(f"{role_id}/{p['PolicyName']}", resolver.resolve(p["PolicyDocument"]))
        for p in props.get("Policies", [])
    ]
    managed = (_managed(template, resolver, v) for v in props.get("ManagedPolicyArns", []))
    policies += [m for m in managed if m]
    boundary = None
    if "PermissionsBoundary" in props:
        boundary = _managed(template, resolver, props["PermissionsBoundary"])
    return Principal(role_id, session, tuple(policies), boundary, account)


def function_role(template: Mapping[str, Any], function_id: str) -> str:
    role = _logical_of(template["Resources"][function_id]["Properties"]["Role"])
    if role is None:
        raise ValueError(f"{function_id}'s role is not a role of the template")
    return role


def function_principal(
    template: Mapping[str, Any], resolver: Any, function_id: str, session: str, account: str
) -> Principal:
    return role_principal(template, resolver, function_role(template, function_id), session, account)


def iam_principal(iam: Any, role_arn: str, session: str, boundaries: Mapping[str, Policy],
                  account: str) -> Principal:
    """A role as IAM holds it (a role a stack created: its inline policies) with its permissions boundary,
    one of `boundaries` (by ARN): the policies AWS evaluates for whoever assumed it."""
    name = role_arn.rsplit("/", 1)[-1]
    role = iam.get_role(RoleName=name)["Role"]
    policies = tuple(
        Policy.from_document(f"{name}/{p}", _document(iam.get_role_policy(RoleName=name, PolicyName=p)))
        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
    )
    boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary_arn and boundary_arn not in boundaries:
        raise ValueError(f"{name}: boundary {boundary_arn} is not a policy of the platform")
    return Principal(name, session, policies, boundaries[boundary_arn] if boundary_arn else None, account)


def _document(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    document = answer["PolicyDocument"]
    return json.loads(unquote(document)) if isinstance(document, str) else document


def managed_policies(template: Mapping[str, Any], resolver: Any) -> dict[str, Policy]:
    """The template's managed policies by ARN (the project roles' permissions boundary among them)."""
    policies = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    return {str(resolver.ref(k)): Policy.from_document(k, resolver.resolve(r["Properties"]["PolicyDocument"]))
            for k, r in policies.items()}
