"""The platform parameters as options of `setup` and `update`, derived from the one table
(`templates.parameters`). Typer reads a command's options from `inspect.signature`, so the decorator
gives the command a signature with one option per operator parameter; the values arrive in the
command's `**parameters`, keyed by `Parameters` field."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import typer

from templates.parameters import OPERATOR_PARAMETERS

F = TypeVar("F", bound=Callable[..., Any])


def parameter_options(mode: Literal["setup", "update"], *, before: str) -> Callable[[F], F]:
    """Replace the command's `**parameters` with the options, listed before the `before` option.
    setup requires each one without a default; update takes each one optionally (None keeps the
    stack's value)."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        *declared, var = signature.parameters.values()
        assert var.kind is inspect.Parameter.VAR_KEYWORD, f"{fn.__name__} needs **parameters"
        annotation: Any = str if mode == "setup" else str | None
        options = [
            inspect.Parameter(
                o.field,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=typer.Option(
                    (... if o.default is None else o.default) if mode == "setup" else None,
                    o.option,
                    help=o.setup_help if mode == "setup" else o.update_help,
                ),
                annotation=annotation,
            )
            for _, o in OPERATOR_PARAMETERS
        ]
        at = [p.name for p in declared].index(before)
        fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*declared[:at], *options, *declared[at:]]
        )
        fn.__annotations__ = {
            **{k: v for k, v in fn.__annotations__.items() if k != var.name},
            **{o.field: annotation for _, o in OPERATOR_PARAMETERS},
        }
        return fn

    return decorate

