"""setup and update take every operator parameter of the table as an option, with its help."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from templates.parameters import OPERATOR_PARAMETERS


@pytest.mark.parametrize("command", ["setup", "update"])
def test_setup_and_update_offer_every_operator_parameter_with_its_help(command: str) -> None:
    from battleshiper_cli.main import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "400"}, terminal_width=400)
    assert result.exit_code == 0, result.output
    for _, o in OPERATOR_PARAMETERS:
        line = next(line for line in result.output.splitlines() if f" {o.option} " in line)
        assert (o.setup_help if command == "setup" else o.update_help) in line
        assert ("[required]" in line) is (command == "setup" and o.default is None)
        if command == "setup" and o.default is not None:
            assert f"[default: {o.default}]" in line
