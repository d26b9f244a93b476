"""GitHub as the CLI's setup and update see it: the stand-in's public profiles (`GET /users/{login}`),
where the admin's login is resolved to its numeric id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from battleshiper_cli.local.github import GitHubStandIn
from lambdas.shared.names import Env

# The GitHub users the CLI tests name with --admin, and their numeric ids.
GITHUB_USERS = {"octocat": 583231, "hubot": 480938}


@pytest.fixture(scope="session")
def public_github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(autouse=True)
def github_users(public_github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch) -> GitHubStandIn:
    public_github.reset()
    for login, user_id in GITHUB_USERS.items():
        public_github.add_account(user_id, login)
    monkeypatch.setenv(Env.GITHUB_API_URL, public_github.url)
    return public_github
