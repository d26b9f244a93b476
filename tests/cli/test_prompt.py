"""The one prompter: `--yes` answers everything, a terminal is asked, and no terminal means a refusal
before anything changes (the commands' own tests show the messages and exit codes)."""

from __future__ import annotations

import pytest

from battleshiper_cli.errors import UsageError
from battleshiper_cli.prompt import Prompter


def unasked(_question: str) -> bool:
    raise AssertionError("asked although --yes answers")


def test_yes_answers_without_asking_and_needs_no_terminal() -> None:
    prompter = Prompter(yes=True, interactive=False, yes_no=unasked)
    prompter.require("no terminal", hint="pass --yes")
    assert prompter.confirm("Go?") is True


def test_without_a_terminal_it_refuses_with_the_hint() -> None:
    with pytest.raises(UsageError) as refused:
        Prompter(yes=False, interactive=False).require("no terminal to confirm on", hint="pass --yes")
    assert refused.value.message == "no terminal to confirm on" and refused.value.hint == "pass --yes"


def test_on_a_terminal_it_asks_and_returns_what_was_typed() -> None:
    asked: list[str] = []

    def decline(question: str) -> bool:
        asked.append(question)
        return False

    prompter = Prompter(yes=False, interactive=True, yes_no=decline, line=lambda prompt: f"  {prompt}  ")
    prompter.require("no terminal", hint="pass --yes")
    assert prompter.confirm("Go?") is False and asked == ["Go?"]
    assert prompter.typed("name") == "name"
