"""The first manager is named by the operator's GitHub login but bound to its numeric user id: a login
can be renamed and then re-claimed by someone else, an id never changes (reference defect 8). Setup
and update resolve the login once, through GitHub's public `GET /users/{login}` (no credentials), and
the stack parameter holds the id."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from battleshiper_cli.context import Context
from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.output import console
from lambdas.shared.github import DEFAULT_API_URL, GitHubError, public_user
from lambdas.shared.names import Env
from templates.parameters import GITHUB_USER_ID_PATTERN, PARAM_ADMIN


def api_url(c: Context) -> str:
    if c.local is not None:
        return c.local.github_api_url
    return os.environ.get(Env.GITHUB_API_URL) or DEFAULT_API_URL


def resolve(c: Context, login: str) -> str:
    """The numeric id of GitHub user `login`, said in the output."""
    try:
        user = public_user(login, api_url=api_url(c))
    except GitHubError as err:
        if err.status == 404:
            raise BattleshiperError(f"admin: GitHub has no user {login!r}",
                                    hint="pass the first manager's GitHub login with --admin") from None
        raise BattleshiperError(f"admin: GitHub user {login!r} could not be looked up ({err})",
                                hint="check the network and run the command again; nothing was "
                                     "changed") from None
    console.print(f"admin: GitHub user {escape(user.login)} is id {user.id}; the first manager role is bound "
                  "to that id")
    return str(user.id)


def is_id(value: str) -> bool:
    """A stack of an older setup holds the login instead."""
    return re.fullmatch(GITHUB_USER_ID_PATTERN, value) is not None


def for_update(c: Context, given: Mapping[str, str | None], stack: Mapping[str, Any] | None
               ) -> dict[str, str | None]:
    """The update's given values with the admin as an id: a given login resolved, or the stack's
    login of an older setup (kept otherwise: the stack holds the id already)."""
    values = dict(given)
    if values.get("admin"):
        values["admin"] = resolve(c, str(values["admin"]))
        return values
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}
    held = current.get(PARAM_ADMIN, "")
    if held and not is_id(held):
        values["admin"] = resolve(c, held)
    return values
