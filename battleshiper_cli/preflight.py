"""Preflight: everything setup and update need, checked with read-only calls before anything is
created. Each check is a named result; any failure stops the command with exit code 2."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import botocore.exceptions
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from rich.markup import escape

from battleshiper_cli.artifacts import bucket_state
from battleshiper_cli.context import Context
from battleshiper_cli.errors import PreflightError, UsageError
from battleshiper_cli.output import console
from battleshiper_cli.stacks import StackOps
from battleshiper_cli.zones import MIN_ZONES, choose, fargate_zones
from lambdas.shared.names import GITHUB_SECRET_KEYS, Names
from templates.parameters import (
    OPERATOR_PARAMETERS,
    PARAM_BUILD_ZONES,
    SECRET_ARN_PATTERN,
    US_EAST_1_CERTIFICATE_PATTERN,
)

Mode = Literal["setup", "update"]
CERTIFICATE_REGION = "us-east-1"  # CloudFront takes viewer certificates from us-east-1 only
# Field of Parameters -> the value setup uses when it is not given (the template's Default too).
PARAMETER_DEFAULTS = {o.field: o.default for _, o in OPERATOR_PARAMETERS if o.default is not None}


@dataclass(frozen=True)
class Parameters:
    """The operator's stack parameters (the artifacts bucket and build zones are added by the CLI).
    Typed fields for the code that reads them; the fields are those of `OPERATOR_PARAMETERS`, in
    order (tests/templates/test_parameters.py checks)."""

    domain: str
    certificate_arn: str
    wildcard_certificate_arn: str
    github_secret_arn: str
    admin: str
    api_throttle_rate: str = PARAMETER_DEFAULTS["api_throttle_rate"]
    api_throttle_burst: str = PARAMETER_DEFAULTS["api_throttle_burst"]
    project_throttle_rate: str = PARAMETER_DEFAULTS["project_throttle_rate"]
    project_throttle_burst: str = PARAMETER_DEFAULTS["project_throttle_burst"]


# Field of Parameters -> template parameter name.
PARAMETER_KEYS = {o.field: p.name for p, o in OPERATOR_PARAMETERS}


def parameters_from_stack(stack: dict[str, Any], given: dict[str, str | None]) -> Parameters:
    """Given values where set, the stack's current ones otherwise."""
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return Parameters(**{
        f.name: given.get(f.name) or current.get(PARAMETER_KEYS[f.name]) or PARAMETER_DEFAULTS.get(f.name, "")
        for f in fields(Parameters)
    })


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False  # not run because a check it depends on failed


@dataclass(frozen=True)
class Account:
    """Where the command runs, as preflight found it, and the build zones it chose there."""

    account_id: str
    region: str
    caller_arn: str
    build_zones: tuple[str, ...] = ()


# --- pure checks ------------------------------------------------------------------------------

def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def covers(names: list[str], host: str) -> bool:
    """Whether a certificate with these names is valid for `host` (`*.x` covers one label of x;
    a wildcard host is covered only by the same wildcard name)."""
    host = host.lower()
    for name in (n.lower() for n in names):
        if name == host:
            return True
        wildcard_match = name.startswith("*.") and not host.startswith("*.") and "." in host
        if wildcard_match and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def parse_github_secret(secret_string: str) -> str | None:
    """None if the secret is usable, else what is wrong with it."""
    try:
        value = json.loads(secret_string)
    except json.JSONDecodeError:
        return "is not JSON"
    if not isinstance(value, dict):
        return "is not a JSON object"
    missing = [k for k in GITHUB_SECRET_KEYS if not isinstance(value.get(k), str) or not value.get(k)]
    if missing:
        return f"lacks {', '.join(missing)}"
    try:
        key = load_pem_private_key(value["app_secret"].encode(), password=None)
    except (ValueError, TypeError):
        return "app_secret is not a PEM private key (paste the whole .pem file, BEGIN/END lines included)"
    if not isinstance(key, RSAPrivateKey):
        return "app_secret is not an RSA private key"
    return None


def stack_check(stack: dict[str, Any] | None, mode: Mode, stack_name: str) -> Check:
    status = stack["StackStatus"] if stack else None
    if mode == "setup":
        if status is None:
            return Check("stack name free", True, stack_name)
        if status == "REVIEW_IN_PROGRESS":  # left by a setup that was never executed
            return Check("stack name free", True, f"{stack_name} (reusing an unexecuted setup)")
        if status in {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}:
            return Check("stack name free", False, f"{stack_name} is left from a failed setup ({status}); "
                                                   "run `battleshiper delete` first")
        return Check("stack name free", False,
                     f"{stack_name} exists ({status}); use `battleshiper update` or another --stack-name")
    if status is None or status == "REVIEW_IN_PROGRESS":
        return Check("stack ready", False, f"{stack_name} is not installed; run `battleshiper setup`")
    if status.endswith("_IN_PROGRESS"):
        return Check("stack ready", False, f"{stack_name} is busy ({status}); wait until it finishes")
    if status in {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}:
        return Check("stack ready", False, f"{stack_name} never finished its setup ({status}); "
                                           "run `battleshiper delete`, then setup")
    if status == "UPDATE_ROLLBACK_FAILED":
        return Check("stack ready", False,
                     f"{stack_name} is {status}; run `aws cloudformation continue-update-rollback "
                     f"--stack-name {stack_name}` and fix what the events name, then update again")
    if status.endswith("_FAILED"):
        return Check("stack ready", False, f"{stack_name} is {status}; see its events in the console")
    return Check("stack ready", True, f"{stack_name} ({status})")


# --- checks that call AWS ---------------------------------------------------------------------

def _error(err: Exception) -> str:
    if isinstance(err, botocore.exceptions.ClientError):
        e = err.response.get("Error", {})
        return f"{e.get('Code', '')}: {e.get('Message', '')}"
    return str(err)


def certificate_check(acm: Any, arn: str, host: str) -> Check:
    name = f"certificate for {host}"
    if not matches(US_EAST_1_CERTIFICATE_PATTERN, arn):
        return Check(name, False, f"{arn!r} is not an ACM certificate ARN in {CERTIFICATE_REGION}")
    try:
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except botocore.exceptions.ClientError as err:
        return Check(name, False, f"cannot read {arn}: {_error(err)}")
    names = [cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]
    if cert.get("Status") != "ISSUED":
        return Check(name, False, f"status {cert.get('Status')} (must be ISSUED; finish DNS validation)")
    if not covers(names, host):
        return Check(name, False, f"covers {', '.join(sorted(set(names)))}, not {host}")
    return Check(name, True, arn)


def secret_check(client_for: Callable[[str, str | None], Any], arn: str) -> Check:
    name = "GitHub App secret"
    if not matches(SECRET_ARN_PATTERN, arn):
        return Check(name, False, f"{arn!r} is not a Secrets Manager secret ARN")
    try:
        value = client_for("secretsmanager", arn.split(":")[3]).get_secret_value(SecretId=arn)
    except botocore.exceptions.ClientError as err:
        return Check(name, False, f"cannot read {arn}: {_error(err)}")
    problem = parse_github_secret(value.get("SecretString") or "")
    return Check(name, problem is None, f"secret {problem}" if problem else arn)


def route_store_check(cloudfront: Any, names: Names) -> Check:
    """CloudFront names are account-wide: another installation may hold the route store's name."""
    name = "route store name free"
    kwargs: dict[str, Any] = {}
    while True:
        page = cloudfront.list_key_value_stores(**kwargs).get("KeyValueStoreList", {})
        if any(item.get("Name") == names.route_store for item in page.get("Items", [])):
            return Check(name, False, f"a CloudFront KeyValueStore named {names.route_store} exists in this "
                                      "account; pick another --stack-name")
        if not page.get("NextMarker"):
            return Check(name, True, names.route_store)
        kwargs["Marker"] = page["NextMarker"]


def build_zones_check(ec2: Any, region: str, current: dict[str, Any] | None) -> tuple[Check, tuple[str, ...]]:
    """An installed platform keeps its zones (others would replace the build subnets, and a subnet's
    CIDR cannot be reused while the old one exists); a new one, or one installed before the zones
    were a parameter, gets zones that offer Fargate."""
    name = "build zones"
    kept = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (current or {}).get("Parameters", [])}
    if kept.get(PARAM_BUILD_ZONES):
        zones = tuple(kept[PARAM_BUILD_ZONES].split(","))
        return Check(name, True, f"{', '.join(zones)} (as installed)"), zones
    try:
        offered = fargate_zones(ec2)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        return Check(name, False, f"cannot list the availability zones: {_error(err)}"), ()
    chosen = choose(offered)
    if chosen is None:
        found = ", ".join(map(str, offered)) or "none"
        return Check(name, False, f"{region} offers Fargate in {len(offered)} availability zone(s) of this "
                                  f"account ({found}); builds need {MIN_ZONES}: choose another --region"), ()
    return Check(name, True, ", ".join(map(str, chosen))), tuple(z.name for z in chosen)


def parameter_checks(params: Parameters) -> list[Check]:
    """The template's own patterns, checked before any AWS call."""
    checks = []
    for p, o in OPERATOR_PARAMETERS:
        value = getattr(params, o.field)
        ok = matches(o.pattern or p.pattern, value)
        checks.append(Check(o.check, ok, value if ok else f"{value!r} is not {o.constraint or p.constraint}"))
    return checks


def run_checks(c: Context, params: Parameters, mode: Mode,
               current: dict[str, Any] | None = None) -> tuple[list[Check], Account | None]:
    """Every check in order. For update, `current` is the stack as already described: its check
    comes first, since a missing stack also explains missing parameter values."""
    region = c.session().region_name
    checks = [Check("region", bool(region), region or "not set: pass --region or set AWS_REGION")]
    if mode == "update":
        checks.append(stack_check(current, mode, c.stack_name))
    checks += parameter_checks(params)
    aws_checks = [f"certificate for {params.domain}", f"certificate for *.{params.domain}",
                  "GitHub App secret", "artifacts bucket", "build zones"]
    if mode == "setup":
        aws_checks += ["stack name free", "route store name free"]
    if not all(ch.ok for ch in checks):
        checks.append(Check("credentials", False, "not checked: fix the checks above first", skipped=True))
        return checks + [Check(name, False, "not checked", skipped=True) for name in aws_checks], None
    try:
        identity = c.client("sts").get_caller_identity()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        checks.append(Check("credentials", False, f"{_error(err)}; pass --profile or run `aws sso login`"))
        return checks + [Check(name, False, "not checked", skipped=True) for name in aws_checks], None
    account = Account(identity["Account"], str(region), identity["Arn"])
    checks.append(Check("credentials", True, f"account {account.account_id} as {account.caller_arn}"))

    acm = c.client("acm", region=CERTIFICATE_REGION)
    checks.append(certificate_check(acm, params.certificate_arn, params.domain))
    checks.append(certificate_check(acm, params.wildcard_certificate_arn, f"*.{params.domain}"))
    checks.append(secret_check(c.client, params.github_secret_arn))
    if mode == "setup":
        existing = StackOps(c.client("cloudformation")).describe(c.stack_name)
        checks.append(stack_check(existing, mode, c.stack_name))
    checks.append(bucket_check(c.client("s3"), c.names.artifacts_bucket(account.account_id, account.region),
                               account.account_id))
    zones_check, zones = build_zones_check(c.client("ec2"), account.region, current)
    checks.append(zones_check)
    account = replace(account, build_zones=zones)
    if mode == "setup":
        checks.append(route_store_check(c.client("cloudfront", region=CERTIFICATE_REGION), c.names))
    return checks, account


def bucket_check(s3: Any, bucket: str, account_id: str) -> Check:
    state = bucket_state(s3, bucket, account_id)
    if state == "foreign":
        return Check("artifacts bucket", False,
                     f"{bucket} belongs to another account; pick another --stack-name")
    return Check("artifacts bucket", True, f"{bucket} ({'exists' if state == 'ours' else 'will be created'})")


def print_checks(checks: list[Check]) -> None:
    for check in checks:
        mark = "[dim]-[/dim]" if check.skipped else "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        console.print(f"{mark} {escape(check.name)}  [dim]{escape(check.detail)}[/dim]")


def preflight(c: Context, params: Parameters, mode: Mode, current: dict[str, Any] | None = None) -> Account:
    """Run and print every check; raise PreflightError (exit 2) naming each failed one."""
    if mode == "update" and (current is None or current.get("StackStatus") == "REVIEW_IN_PROGRESS"):
        # No platform: nothing to check its parameters against, and nothing else to say.
        region = c.session().region_name
        raise UsageError(f"{c.stack_name} is not installed{f' in {region}' if region else ''}",
                         hint="run `battleshiper setup` to install it, or pass the --region and "
                              "--stack-name it was installed with")
    console.print(f"[bold]Preflight ({mode} of {c.stack_name})[/bold]")
    checks, account = run_checks(c, params, mode, current)
    print_checks(checks)
    failed = [(ch.name, ch.detail) for ch in checks if not ch.ok and not ch.skipped]
    if failed or account is None:
        raise PreflightError(failed)
    return account
