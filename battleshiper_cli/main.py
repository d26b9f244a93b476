"""The `battleshiper` command: global options, command registration, error reporting."""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import pkgutil
import re
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import botocore.exceptions
import typer
from typer.core import TyperGroup

from battleshiper_cli.context import Context, Injected, OutputFormat
from battleshiper_cli.errors import EXIT_CODES_HELP, AwsError, BattleshiperError
from battleshiper_cli.local.control import DEFAULT_DATA_DIR
from battleshiper_cli.output import console
from lambdas.shared.names import DEFAULT_STACK_NAME, Names


def one_line_paragraphs(text: str) -> str:
    """Help text with each paragraph on one line. Rich wraps help to the terminal's width itself, so a
    hard line break left in a docstring or help string shows as a break in mid-sentence."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else re.sub(r"[ \t]*\n[ \t]*", " ", p) for p in paragraphs)


def _one_line_help(command: Any) -> None:
    """`one_line_paragraphs` on the help of `command`, its options and arguments, and its subcommands."""
    for holder in (command, *command.params):
        for field in ("help", "short_help"):
            if isinstance(getattr(holder, field, None), str):
                setattr(holder, field, one_line_paragraphs(getattr(holder, field)))
    for sub in getattr(command, "commands", {}).values():
        _one_line_help(sub)


class _RootGroup(TyperGroup):
    """The `battleshiper` group. Typer builds it last, from commands already built: its help texts and
    every command's are made one line a paragraph here, whatever order the modules were imported in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _one_line_help(self)


app = typer.Typer(
    name="battleshiper",
    help=f"Install, update and operate Battleshiper in your AWS account.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_RootGroup,
)

F = TypeVar("F", bound=Callable[..., Any])

THROTTLING_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
}


def translate(err: Exception) -> BattleshiperError | None:
    """Turn the AWS errors every command can meet into one line and a hint."""
    if isinstance(err, BattleshiperError):
        return err
    if isinstance(err, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return AwsError(
            "no AWS credentials found", hint="pass --profile, or run `aws configure` / `aws sso login`"
        )
    if isinstance(err, botocore.exceptions.NoRegionError):
        return AwsError("no AWS region configured", hint="pass --region or set AWS_REGION")
    if isinstance(err, botocore.exceptions.EndpointConnectionError):
        return AwsError(f"cannot reach AWS: {err}", hint="check the network, --region and --endpoint-url")
    if isinstance(err, botocore.exceptions.ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        message = err.response.get("Error", {}).get("Message", str(err))
        if code in THROTTLING_CODES:
            return AwsError(
                f"AWS is throttling requests ({code})", hint="wait a minute and run the command again"
            )
        if code in CREDENTIAL_CODES:
            return AwsError(
                f"AWS rejected the credentials: {message}",
                hint="refresh them (`aws sso login`) or pass --profile",
            )
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            return AwsError(
                f"access denied: {message}",
                hint="setup, update and delete need administrator rights or the policy that "
                     "`battleshiper setup --print-operator-policy` prints",
            )
        return AwsError(
            f"{err.operation_name} failed: {code}: {message}", hint="run again with --verbose for details"
        )
    return None


def guarded(fn: F) -> F:
    """Report expected errors as one line with a hint and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as err:
            known = translate(err)
            if known is None:
                raise
            contexts = [v for v in (*args, *kwargs.values()) if hasattr(v, "find_root")]  # click contexts
            verbose = any(getattr(c.find_root().obj, "verbose", False) for c in contexts)
            if verbose:
                console.print(traceback.format_exc(), markup=False)
            console.print(f"[red]error:[/red] {known.message}", markup=True, highlight=False)
            if known.hint:
                console.print(f"[dim]hint:[/dim] {known.hint}")
            raise typer.Exit(known.exit_code) from None

    return wrapper  # type: ignore[return-value]


def stack_name_option(value: str) -> str:
    try:
        Names(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    return value


@app.callback()
def root(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile to use."),
    region: str | None = typer.Option(
        None, "--region", envvar="AWS_REGION", help="AWS region of the platform."
    ),
    stack_name: str = typer.Option(
        DEFAULT_STACK_NAME,
        "--stack-name",
        callback=stack_name_option,
        help="Name of the platform stack; every resource name derives from it.",
    ),
    endpoint_url: str | None = typer.Option(
        None, "--endpoint-url", help="Send every AWS call to this endpoint (emulators)."
    ),
    local: bool = typer.Option(
        False, "--local", help="Talk to the local platform (`battleshiper local up`) instead of AWS."
    ),
    local_dir: Path = typer.Option(
        DEFAULT_DATA_DIR, "--local-dir", envvar="BATTLESHIPER_LOCAL_DIR",
        help="With --local: the data folder the local platform was started with.",
    ),
    output: OutputFormat = typer.Option("text", "--output", "-o", help="Output format: text or json."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Answer yes to every confirmation."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks and AWS request details."),
) -> None:
    """Install, update and operate Battleshiper."""
    # A caller of the app may hand in a client factory and a prompter (as Click's `obj`); `battleshiper`
    # does not.
    injected = ctx.obj if isinstance(ctx.obj, Injected) else Injected()
    ctx.obj = Context(
        factory=injected.clients,
        prompter_factory=injected.prompter,
        profile=profile,
        region=region,
        stack_name=stack_name,
        endpoint_url=endpoint_url,
        output=output,
        yes=yes,
        verbose=verbose,
        local_dir=local_dir if local else None,
    )
    if local:
        # The stack name is the local platform's; a platform that is not running is reported, with its
        # hint, by the command that needs it.
        with contextlib.suppress(BattleshiperError):
            ctx.obj.local  # noqa: B018


def _register() -> None:
    """Import every module of `battleshiper_cli.commands`; each registers its commands on `app`."""
    from battleshiper_cli import commands

    for module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        importlib.import_module(f"{commands.__name__}.{module}")


_register()


def main() -> None:
    app()
