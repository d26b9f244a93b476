"""Global behaviour of the CLI: options, error reporting, exit codes."""

from __future__ import annotations

import itertools

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


def _command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that reach it."""
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _command_paths(sub, (*path, name))
    return found


ALL_COMMANDS = _command_paths(typer.main.get_command(app))


def test_every_command_is_walked() -> None:
    assert {("update",), ("project", "logs"), ("local", "up")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("words", ALL_COMMANDS, ids=lambda words: " ".join(words) or "battleshiper")
def test_help_paragraphs_are_not_broken_in_mid_sentence(words: tuple[str, ...]) -> None:
    # So wide that Rich never has to wrap: every line break left is one the help text itself made.
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "400"}, terminal_width=400)
    assert result.exit_code == 0, result.output
    lines = [line.strip(" │").rstrip() for line in result.output.splitlines()]
    for line, after in itertools.pairwise(lines):
        first = after.split(maxsplit=1)[0] if after.split() else ""
        broken = bool(line) and line[-1].isalnum() and first[:1].islower()
        assert not broken, f"`{' '.join(words)} --help` breaks a sentence:\n{line}\n{after}"
