"""A project's environment variables and secrets from the CLI (`battleshiper project env`): the
platform's own operations (`lambdas.shared.environment`) with the operator's clients, and what the
commands read and write around them (`KEY=VALUE` arguments, dotenv files)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from battleshiper_cli.context import Context
from battleshiper_cli.errors import EXIT_USAGE, BattleshiperError, UsageError
from battleshiper_cli.project import steering
from battleshiper_cli.project.views import EXIT_PROJECT_MISSING, Platform
from lambdas.shared import environment
from lambdas.shared.envelope import SealBroken
from lambdas.shared.environment import EnvError, Setting
from lambdas.shared.models import Applies, Project, Target, VariableKind

UPDATED_BY = steering.TRIGGERED_BY  # what `updated_by` records for the operator's changes
STDIN_VALUE = "-"  # `KEY=-`: the value is read from standard input (keeps it out of the shell history)


class EnvRefused(BattleshiperError):
    """Refused (reserved name, quota, conflict, no such variable; nothing changed), or a stored value
    did not open."""


@contextmanager
def refusals() -> Iterator[None]:
    """An `EnvError` as one line: exit 1 for a variable that is not there (like a missing project,
    so a script can tell "nothing to remove" from a refusal), 2 for the rest."""
    try:
        yield
    except EnvError as err:
        code = EXIT_PROJECT_MISSING if err.code == "not_found" else EXIT_USAGE
        raise EnvRefused(str(err), hint="`battleshiper project env list NAME` shows the variables"
                         if err.code == "not_found" else "", exit_code=code) from None
    except SealBroken as err:  # its message names the project only, never a value
        raise EnvRefused(str(err), hint="set the variable again to replace the stored value") from None


def assignments(pairs: list[str], stdin: TextIO) -> list[tuple[str, str]]:
    """`KEY=VALUE` arguments split at the first `=`; `KEY=-` reads the value from stdin (once)."""
    parsed: list[tuple[str, str]] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"{pair!r} is not KEY=VALUE",
                             hint="quote a value with spaces: GREETING='hello world'")
        parsed.append((name, value))
    from_stdin = [name for name, value in parsed if value == STDIN_VALUE]
    if len(from_stdin) > 1:
        raise UsageError(f"only one value can come from standard input ({', '.join(from_stdin)})")
    if from_stdin:
        value = stdin.read()
        value = value[:-1] if value.endswith("\n") else value  # `echo` adds one; the value does not have it
        parsed = [(n, value if v == STDIN_VALUE else v) for n, v in parsed]
    return parsed


def applies_of(build: bool, runtime: bool) -> Applies:
    if build and runtime:
        raise UsageError("--build and --runtime exclude each other", hint="give neither for both")
    return Applies.BUILD if build else Applies.RUNTIME if runtime else Applies.BOTH


def settings(pairs: list[tuple[str, str]], *, secret: bool, applies: Applies, target: str) -> list[Setting]:
    kind = VariableKind.SECRET if secret else VariableKind.PLAIN
    return [Setting(name=n, value=v, kind=kind, applies=applies, target=target) for n, v in pairs]


def set_variables(c: Context, platform: Platform, project: Project, changes: list[Setting]) -> Project:
    with refusals():
        return environment.set_variables(steering.deps(c, platform), project, changes, UPDATED_BY)


def unset_variables(c: Context, platform: Platform, project: Project, variable_names: list[str],
                    target: str) -> tuple[Project, list[str]]:
    with refusals():
        return environment.unset_variables(steering.deps(c, platform), project, variable_names, target)


def listing(c: Context, platform: Platform, project: Project) -> list[dict[str, Any]]:
    with refusals():
        return environment.listing(steering.deps(c, platform), project)


def pulled(c: Context, platform: Platform, project: Project, target: Target, *,
           secrets: bool) -> tuple[dict[str, str], int]:
    """The target's opened values, and how many secrets were left out (counted, never opened)."""
    with refusals():
        values = environment.reveal(steering.deps(c, platform), project, [target], secrets=secrets)
    left_out = 0 if secrets else sum(1 for v in project.environment.values()
                                     if v.target == target and v.kind == VariableKind.SECRET)
    return values, left_out


def quote(value: str) -> str:
    """The value as Vite's `.env` reader (what `npm run dev` and a SvelteKit build use: Node's
    `util.parseEnv`, then `$NAME` expansion) gives it back: inside single quotes or backticks nothing is
    unescaped and newlines stay as they are, and `\\$` keeps a `$` from expansion. No quoting keeps a
    value holding both of those and a double quote: ValueError."""
    for mark in ("'", "`"):
        if mark not in value:
            return mark + value.replace("$", "\\$") + mark
    raise ValueError("holds ', ` and \"")


def dotenv(values: dict[str, str]) -> str:
    lines = []
    for name in sorted(values):
        try:
            lines.append(f"{name}={quote(values[name])}\n")
        except ValueError as err:
            raise EnvRefused(f"{name} cannot be written to a .env file: its value {err}",
                             hint="read it with `battleshiper project env list` instead") from None
    return "".join(lines)


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only (it may hold secrets), replacing what the file held."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # an existing file keeps its mode through os.open: narrow it first
        out.write(text)
