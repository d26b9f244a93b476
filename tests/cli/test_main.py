"""Global behaviour of the CLI: options, error reporting, exit codes."""

from __future__ import annotations

import botocore.exceptions
import pytest
import typer

from battleshiper_cli.main import app, guarded, translate
from tests.cli.runner import Runner

runner = Runner()


def test_help_documents_exit_codes_and_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in (
        "setup",
        "update",
        "delete",
        "synth",
        "package",
        "Exit codes",
        "--stack-name",
        "--endpoint-url",
    ):
        assert word in result.output


def test_invalid_stack_name_is_a_usage_error() -> None:
    result = runner.invoke(app, ["--stack-name", "Bad_Name", "synth"])
    assert result.exit_code == 2
    assert "invalid stack name" in result.output
    assert "Traceback" not in result.output


def client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}}, "DescribeStacks")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (botocore.exceptions.NoCredentialsError(), "no AWS credentials"),
        (client_error("ThrottlingException"), "throttling"),
        (client_error("ExpiredToken"), "rejected the credentials"),
        (client_error("AccessDenied"), "access denied"),
    ],
)
def test_expected_aws_errors_become_one_line_with_a_hint(error: Exception, words: str) -> None:
    known = translate(error)
    assert known is not None and words in known.message and known.hint
    assert known.exit_code == 2


def _command_app(error: Exception) -> typer.Typer:
    demo = typer.Typer()

    @demo.command()
    @guarded
    def boom(ctx: typer.Context) -> None:
        raise error

    @demo.callback()
    def root(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose")) -> None:
        ctx.obj = type("Obj", (), {"verbose": verbose})()

    return demo


def test_guarded_command_prints_one_line_and_no_traceback() -> None:
    result = runner.invoke(_command_app(botocore.exceptions.NoCredentialsError()), ["boom"])
    assert result.exit_code == 2
    assert "error: no AWS credentials found" in result.output
    assert "hint:" in result.output
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback() -> None:
    result = runner.invoke(_command_app(botocore.exceptions.NoCredentialsError()), ["--verbose", "boom"])
    assert result.exit_code == 2
    assert "Traceback" in result.output


def test_unexpected_errors_are_not_swallowed() -> None:
    result = runner.invoke(_command_app(ZeroDivisionError("bug")), ["boom"])
    assert isinstance(result.exception, ZeroDivisionError)
