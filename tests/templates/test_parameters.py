"""The one table of platform parameters and everything derived from it: the template's Parameters,
the preflight checks and the CLI's parameter keys (the options: tests/cli/test_parameter_options.py)."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

import pytest

from battleshiper_cli.install import platform_values
from battleshiper_cli.preflight import PARAMETER_KEYS, Account, Parameters, parameter_checks
from templates.config import PlatformConfig, placeholder_artifacts
from templates.parameters import OPERATOR_PARAMETERS, PLATFORM_PARAMETERS
from templates.platform import build_platform_template


@pytest.fixture(scope="module")
def declared() -> dict[str, Any]:
    config = PlatformConfig(artifacts=placeholder_artifacts())
    template = json.loads(build_platform_template(config).to_json())
    parameters: dict[str, Any] = template["Parameters"]
    return parameters


def test_the_template_declares_exactly_the_table(declared: dict[str, Any]) -> None:
    assert list(declared) == sorted(p.name for p in PLATFORM_PARAMETERS)
    for p in PLATFORM_PARAMETERS:
        assert declared[p.name] == {
            "Type": p.type, "Description": p.description,
            "AllowedPattern": p.pattern, "ConstraintDescription": p.constraint,
            **({"Default": p.default} if p.default is not None else {}),
        }
        if p.default is not None:
            assert re.match(p.pattern, p.default)
        re.compile(p.pattern)


def test_the_operator_gives_every_parameter_but_the_two_the_cli_sets() -> None:
    assert [f.name for f in fields(Parameters)] == [o.field for _, o in OPERATOR_PARAMETERS]
    cli_set = {p.name for p in PLATFORM_PARAMETERS} - set(PARAMETER_KEYS.values())
    account = Account("123456789012", "eu-west-1", "arn:aws:iam::123456789012:user/op", ("eu-west-1a",))
    assert cli_set == set(platform_values("bucket", account)) == {"ArtifactsBucket", "BuildSubnetZones"}


def test_preflight_checks_each_operator_parameter_against_the_template_pattern() -> None:
    bad = Parameters(**{o.field: "Not Valid!" for _, o in OPERATOR_PARAMETERS})
    checks = parameter_checks(bad)
    assert [c.name for c in checks] == [o.check for _, o in OPERATOR_PARAMETERS]
    for check, (p, o) in zip(checks, OPERATOR_PARAMETERS, strict=True):
        # The option's own pattern where the CLI turns it into the value (the admin's login -> its id).
        assert not check.ok and check.detail == f"'Not Valid!' is not {o.constraint or p.constraint}"


def test_the_admin_is_given_by_login_and_stored_as_the_numeric_id() -> None:
    ((parameter, option),) = [(p, o) for p, o in OPERATOR_PARAMETERS if o.field == "admin"]
    assert re.fullmatch(parameter.pattern, "583231") and not re.fullmatch(parameter.pattern, "octocat")
    assert option.pattern and re.fullmatch(option.pattern, "octocat")

