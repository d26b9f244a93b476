"""The one way the CLI asks the operator: `--yes` answers every question, and without a terminal
nobody can, so a command that needs an answer refuses up front (one line and a hint).

The Context carries it, like the client factory; a caller of the app (the tests) may hand in its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.prompt import Confirm

from battleshiper_cli.errors import UsageError
from battleshiper_cli.output import console


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def ask_yes_no(question: str) -> bool:
    return Confirm.ask(question, console=console, default=False)


def ask_line(prompt: str) -> str:
    return console.input(f"{prompt}: ")


@dataclass(frozen=True)
class Prompter:
    yes: bool = False
    interactive: bool = field(default_factory=stdin_is_terminal)
    yes_no: Callable[[str], bool] = ask_yes_no
    line: Callable[[str], str] = ask_line

    def require(self, error: str, hint: str) -> None:
        """Refuse before anything changes when a question would come and nobody could answer it."""
        if not self.yes and not self.interactive:
            raise UsageError(error, hint=hint)

    def confirm(self, question: str) -> bool:
        return self.yes or self.yes_no(question)

    def typed(self, prompt: str) -> str:
        """What the operator types back (the name of what is deleted, say), stripped."""
        return self.line(prompt).strip()
