"""`setup` and `update` as stages: what exists (preflight, the stack) -> what to change (packaging,
uploads, a change set) -> do it (execute, stream events, publish the dashboard, roll project stacks
forward). Commands only parse options and print; the work and its order live here."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import botocore.exceptions
from rich.markup import escape

from battleshiper_cli import admin_id
from battleshiper_cli.artifacts import (
    UploadReport,
    ensure_artifacts_bucket,
    object_url,
    upload_artifacts,
    upload_template,
)
from battleshiper_cli.context import Context
from battleshiper_cli.errors import Declined, OperationFailed
from battleshiper_cli.output import console
from battleshiper_cli.packaging import PackagedArtifact, package_all
from battleshiper_cli.preflight import PARAMETER_KEYS, Account, Parameters, parameters_from_stack, preflight
from battleshiper_cli.progress import change_rows, print_changes, print_event
from battleshiper_cli.stacks import ChangeSet, StackOps
from battleshiper_cli.synthesis import platform_config, render
from lambdas.shared import project_stack
from lambdas.shared.dashboard_assets import upload_dashboard_assets
from templates import ids
from templates.parameters import PARAM_ARTIFACTS_BUCKET, PARAM_BUILD_ZONES
from templates.platform import build_platform_template

POLL_SECONDS = 5.0
NAMED_IAM_PROPERTIES = ("RoleName", "ManagedPolicyName", "GroupName", "UserName", "InstanceProfileName")
# Project stacks create roles under a fixed path and name, like the pipeline does.
PROJECT_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


def require_answer(c: Context) -> None:
    """Refuse up front, before anything is created, when nobody could answer the confirmation."""
    c.prompter.require("no terminal to confirm the changes on", hint="pass --yes to apply without asking")


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str
    note: str = ""


@dataclass
class ProjectRoll:
    stack: str
    status: str  # "behind" (listed only), the final stack status, or "failed: <why>"


@dataclass
class Result:
    stack: str
    status: str
    changes: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    dns_records: list[DnsRecord] = field(default_factory=list)
    projects: list[ProjectRoll] = field(default_factory=list)
    uploads: UploadReport = field(default_factory=UploadReport)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "status": self.status,
            "changes": self.changes,
            "outputs": self.outputs,
            "dns_records": [r.__dict__ for r in self.dns_records],
            "projects": [p.__dict__ for p in self.projects],
            "uploaded": self.uploads.uploaded,
            "uploaded_bytes": self.uploads.bytes,
        }


def package(stack_name: str, build_dir: Path) -> dict[str, PackagedArtifact]:
    console.print("[bold]Packaging[/bold]")
    return package_all(stack_name, build_dir, log=lambda line: console.print(f"  {escape(line)}"))


def capabilities(template_body: str) -> list[str]:
    """CAPABILITY_IAM always; CAPABILITY_NAMED_IAM only if an IAM resource carries a fixed name."""
    resources = json.loads(template_body).get("Resources", {}).values()
    named = any(
        r.get("Type", "").startswith("AWS::IAM::")
        and any(p in r.get("Properties", {}) for p in NAMED_IAM_PROPERTIES)
        for r in resources
    )
    return ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"]


def dns_records(domain: str, outputs: Mapping[str, str]) -> list[DnsRecord]:
    apex_note = ("if this is the apex of its DNS zone, a CNAME is not allowed there: use an ALIAS/ANAME "
                 "record or CNAME flattening (Route 53: an A/AAAA alias to the distribution)")
    return [
        DnsRecord(domain, "CNAME", outputs.get(ids.OUTPUT_DASHBOARD_CDN_HOST, "?"), apex_note),
        DnsRecord(f"*.{domain}", "CNAME", outputs.get(ids.OUTPUT_PROJECT_CDN_HOST, "?")),
    ]


class Installer:
    """One setup or update run: the clients, the account and the stack it works on."""

    def __init__(self, c: Context, account: Account) -> None:
        self.c = c
        self.account = account
        self.names = c.names
        self.s3 = c.client("s3")
        self.stacks = StackOps(c.client("cloudformation"), on_event=print_event, poll_seconds=POLL_SECONDS)
        self.bucket = self.names.artifacts_bucket(account.account_id, account.region)

    @property
    def tags(self) -> dict[str, str]:
        return {self.names.stack_tag: self.c.stack_name}

    def url(self, key: str) -> str:
        return object_url(self.bucket, key, self.account.region)

    def template(self, artifacts: Mapping[str, PackagedArtifact]) -> str:
        return render(build_platform_template(platform_config(self.c.stack_name, artifacts)))

    def upload(self, artifacts: Mapping[str, PackagedArtifact], body: str) -> tuple[str, UploadReport]:
        if ensure_artifacts_bucket(self.s3, self.bucket, self.account.region, tags=self.tags):
            console.print(f"created artifacts bucket {self.bucket}")
        report = upload_artifacts(self.s3, self.bucket, artifacts)
        key, template_report = upload_template(self.s3, self.bucket, body)
        report.add(template_report)
        console.print(f"uploaded {len(report.uploaded)} artifact(s), {report.bytes} bytes; "
                      f"{len(report.skipped)} already in {self.bucket}")
        return key, report

    def change_set(self, kind: Literal["CREATE", "UPDATE"], template_key: str, body: str,
                   parameters: list[dict[str, Any]]) -> ChangeSet:
        console.print(f"[bold]Computing the {kind.lower()} change set[/bold]")
        return self.stacks.create_change_set(
            self.c.stack_name, template_url=self.url(template_key), parameters=parameters,
            change_set_type=kind, capabilities=capabilities(body), tags=self.tags,
        )

    def execute(self, change_set: ChangeSet, target: Literal["create", "update"]) -> str:
        since = self.stacks.latest_event_time(self.c.stack_name) or self.stacks.clock()
        self.stacks.execute_change_set(change_set)
        console.print(f"[bold]{target.capitalize()} of {self.c.stack_name}[/bold]")
        return self.stacks.wait(self.c.stack_name, since, target=target)

    def publish_dashboard(
        self, artifacts: Mapping[str, PackagedArtifact], outputs: Mapping[str, str]
    ) -> None:
        """CodeDeploy hooks do not run when the stack is created: publish the first assets here."""
        assets = artifacts["dashboard-assets"]
        bucket = outputs[ids.OUTPUT_DASHBOARD_BUCKET]
        release = f"setup-{assets.sha256[:12]}"
        keys = upload_dashboard_assets(self.s3, bucket, assets.path.read_bytes(), release)
        console.print(f"published {len(keys)} dashboard file(s)")

    # Project stacks

    def projects_behind(self, template_sha256: str) -> list[dict[str, Any]]:
        def template_hash(stack: dict[str, Any]) -> str | None:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
            return tags.get(self.names.template_hash_tag)

        return [s for s in self.stacks.list_stacks(self.names.project_stack_prefix)
                if template_hash(s) != template_sha256 and not s["StackStatus"].endswith("_IN_PROGRESS")]

    def pipeline_environment(self) -> dict[str, str]:
        """The init function's environment: where the platform's current project-stack values live."""
        config = self.c.client("lambda").get_function_configuration(
            FunctionName=self.names.function("pipeline-init"))
        return dict(config.get("Environment", {}).get("Variables", {}))

    def roll_forward(self, stack: dict[str, Any], template: PackagedArtifact,
                     environment: Mapping[str, str]) -> ProjectRoll:
        name = stack["StackName"]
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
        tags[self.names.template_hash_tag] = template.sha256
        declared = json.loads(template.path.read_text()).get("Parameters", {})
        previous = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        since = self.stacks.latest_event_time(name) or self.stacks.clock()
        console.print(f"[bold]Rolling {name} forward[/bold]")
        try:
            started = self.stacks.update_stack(
                name, template_url=self.url(template.key),
                parameters=project_stack.roll_forward_parameters(declared, previous, environment),
                capabilities=PROJECT_CAPABILITIES, tags=tags, role_arn=stack.get("RoleARN"),
            )
            if not started:
                return ProjectRoll(name, "up to date")
            return ProjectRoll(name, self.stacks.wait(name, since, target="update"))
        except OperationFailed as err:
            return ProjectRoll(name, f"failed: {err.message}")
        except botocore.exceptions.ClientError as err:  # refused outright, e.g. a parameter value
            return ProjectRoll(name, f"failed: {err.response.get('Error', {}).get('Message', err)}")


def platform_values(bucket: str, account: Account) -> dict[str, str]:
    """The parameters the CLI sets itself: the artifacts bucket, the build zones preflight chose."""
    return {PARAM_ARTIFACTS_BUCKET: bucket, PARAM_BUILD_ZONES: ",".join(account.build_zones)}


def cfn_parameters(params: Parameters, bucket: str, account: Account) -> list[dict[str, Any]]:
    values = {PARAMETER_KEYS[k]: v for k, v in params.__dict__.items()} | platform_values(bucket, account)
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def stack_parameters(stack: Mapping[str, Any] | None) -> set[str]:
    return {p["ParameterKey"] for p in (stack or {}).get("Parameters", [])}


def update_parameters(given: Mapping[str, str | None], bucket: str, account: Account,
                      existing: Collection[str]) -> list[dict[str, Any]]:
    """Given values; every other operator parameter keeps the stack's current value, or gets the
    template's default when the stack does not have it yet (one installed by an older release)."""
    entries: list[dict[str, Any]] = [
        {"ParameterKey": key, "ParameterValue": given[field_name]} if given.get(field_name)
        else {"ParameterKey": key, "UsePreviousValue": True}
        for field_name, key in PARAMETER_KEYS.items()
        if given.get(field_name) or key in existing
    ]
    ours = platform_values(bucket, account)
    return [*entries, *({"ParameterKey": k, "ParameterValue": v} for k, v in ours.items())]


# --- setup ------------------------------------------------------------------------------------

def setup(c: Context, params: Parameters, *, build_dir: Path) -> Result:
    account = preflight(c, params, "setup")  # reads only: its report helps even when we then refuse
    require_answer(c)
    params = dataclasses.replace(params, admin=admin_id.resolve(c, params.admin))  # the stack holds the id
    artifacts = package(c.stack_name, build_dir)
    d = Installer(c, account)
    body = d.template(artifacts)
    template_key, uploads = d.upload(artifacts, body)
    change_set = d.change_set("CREATE", template_key, body, cfn_parameters(params, d.bucket, account))
    print_changes(f"Setup of {c.stack_name} will create", change_set.changes)
    if not c.prompter.confirm(f"Create {c.stack_name} with these {len(change_set.changes)} resources?"):
        d.stacks.delete_change_set(change_set)
        d.stacks.delete_stack(c.stack_name)  # only a REVIEW_IN_PROGRESS placeholder exists
        raise Declined("setup cancelled: no stack was created",
                       hint=f"the uploaded artifacts stay in {d.bucket} for the next run")
    try:
        status = d.execute(change_set, "create")
    except OperationFailed as err:
        err.hint = (f"nothing of the platform is usable; remove what is left with `battleshiper --stack-name "
                    f"{c.stack_name} delete`, fix the cause named above, then run setup again")
        raise
    outputs = d.stacks.outputs(c.stack_name)
    d.publish_dashboard(artifacts, outputs)
    return Result(c.stack_name, status, change_rows(change_set.changes), outputs,
                  dns_records(params.domain, outputs), uploads=uploads)


# --- update -----------------------------------------------------------------------------------

@dataclass
class UpdatePlan:
    change_set: ChangeSet
    behind: list[dict[str, Any]]  # project stacks on an older project template
    projects: bool  # roll them forward (else only list them)

    @property
    def pending(self) -> bool:
        return not self.change_set.empty or (self.projects and bool(self.behind))


def update(c: Context, given: Mapping[str, str | None], *, build_dir: Path,
           diff: bool = False, projects: bool = True) -> Result:
    """Update the platform stack and roll project stacks forward. With `diff`, only show what would
    change (status "changes" or "no-changes"); nothing is executed."""
    current = StackOps(c.client("cloudformation")).describe(c.stack_name)
    params = parameters_from_stack(current or {}, dict(given))
    account = preflight(c, params, "update", current)
    if not diff:
        require_answer(c)
    given = admin_id.for_update(c, given, current)
    artifacts = package(c.stack_name, build_dir)
    d = Installer(c, account)
    body = d.template(artifacts)
    if diff:  # the change set needs the template, not the artifacts
        template_key, uploads = upload_template(d.s3, d.bucket, body)
    else:
        template_key, uploads = d.upload(artifacts, body)
    plan = UpdatePlan(
        d.change_set("UPDATE", template_key, body,
                     update_parameters(given, d.bucket, account, stack_parameters(current))),
        d.projects_behind(artifacts["project-template"].sha256),
        projects,
    )
    show(plan, c.stack_name)
    result = Result(c.stack_name, "changes" if plan.pending else "no-changes",
                    change_rows(plan.change_set.changes), d.stacks.outputs(c.stack_name), uploads=uploads,
                    projects=[ProjectRoll(s["StackName"], "behind") for s in plan.behind])
    if diff or not plan.pending:
        d.stacks.delete_change_set(plan.change_set)  # a change set that changes nothing is deleted too
        return result
    if not c.prompter.confirm(question(plan)):
        d.stacks.delete_change_set(plan.change_set)
        raise Declined("update cancelled: nothing was changed")

    if plan.change_set.empty:
        d.stacks.delete_change_set(plan.change_set)
        result.status = "no-changes"
    else:
        result.status = apply_update(d, plan)
        result.outputs = d.stacks.outputs(c.stack_name)
    if plan.projects and plan.behind:
        environment = d.pipeline_environment()  # after the platform update: the new release's values
        result.projects = [d.roll_forward(s, artifacts["project-template"], environment) for s in plan.behind]
        failed = [p for p in result.projects if p.status.startswith("failed")]
        if failed:
            raise OperationFailed(
                f"{len(failed)} project stack(s) could not be rolled forward: "
                + "; ".join(f"{p.stack}: {p.status}" for p in failed),
                hint="the platform itself is updated; fix the cause and run `battleshiper update` again",
            )
    return result


def apply_update(d: Installer, plan: UpdatePlan) -> str:
    try:
        return d.execute(plan.change_set, "update")
    except OperationFailed as err:
        err.hint = ("CloudFormation rolled the platform back to its previous version; fix the cause named "
                    "above and run `battleshiper update` again")
        raise


def question(plan: UpdatePlan) -> str:
    parts = []
    if not plan.change_set.empty:
        parts.append(f"apply {len(plan.change_set.changes)} change(s) to the platform")
    if plan.behind and plan.projects:
        parts.append(f"roll {len(plan.behind)} project stack(s) forward")
    return " and ".join(parts).capitalize() + "?"


def show(plan: UpdatePlan, stack_name: str) -> None:
    if plan.change_set.empty:
        console.print(f"no changes to the platform stack {stack_name}")
    else:
        print_changes(f"Update of {stack_name} will change", plan.change_set.changes)
    if plan.behind:
        console.print(f"{len(plan.behind)} project stack(s) run an older project template:")
        for s in plan.behind:
            console.print(f"  {escape(s['StackName'])}")
        if not plan.projects:
            console.print("  [dim]run `battleshiper update` without --no-projects to roll them forward[/dim]")
