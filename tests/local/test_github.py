"""The GitHub stand-in answers, and refuses, what GitHub does for what a user can access: an
organisation's installation lists each member's own repositories, a user's token sees nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from battleshiper_cli.local.github import GitHubStandIn, Repo
from lambdas.shared.github import AppCredentials, GitHub, GitHubError, public_user


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def client(github: GitHubStandIn) -> GitHub:
    github.reset()
    secret = github.secret()
    credentials = AppCredentials(secret["client_id"], secret["client_secret"], secret["app_id"],
                                 secret["app_secret"])
    return GitHub(credentials, url=github.url, api_url=github.url)


def test_members_of_an_organisation_see_only_their_repositories(
    github: GitHubStandIn, client: GitHub
) -> None:
    acme, alice = github.add_account(50, "acme"), github.add_account(1, "alice")
    bob = github.add_account(2, "bob")
    github.install(600, acme, [Repo(11, "secret", "acme", private=True), Repo(12, "site", "acme")])
    github.grant_access(600, alice, [11])
    github.grant_access(600, bob, [])
    alice_token, bob_token = github.sign_in(1)["access_token"], github.sign_in(2)["access_token"]
    assert [r.full_name for r in client.user_repositories(alice_token, 600)] == ["acme/secret"]
    assert client.user_repositories(bob_token, 600) == []
    assert [i.id for i in client.user_installations(bob_token)] == [600]
    github.revoke_access(600, alice, 11)
    assert client.user_repositories(alice_token, 600) == []


def test_what_github_refuses_is_refused(github: GitHubStandIn, client: GitHub) -> None:
    acme = github.add_account(50, "acme")
    github.add_account(3, "carol")
    github.install(600, acme, [Repo(11, "secret", "acme", private=True)])
    carol_token = github.sign_in(3)["access_token"]
    assert client.user_installations(carol_token) == []  # not a member: no installation
    with pytest.raises(GitHubError) as outsider:
        client.user_repositories(carol_token, 600)
    assert outsider.value.status == 404
    with pytest.raises(GitHubError) as anonymous:
        client.user_repositories("ghu_forged", 600)
    assert anonymous.value.status == 401
    with pytest.raises(GitHubError) as unknown:
        public_user("nobody", api_url=github.url)
    assert unknown.value.status == 404
    assert public_user("Carol", api_url=github.url).id == 3
