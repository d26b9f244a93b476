"""The DynamoDB layer against moto tables created from the template."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.shared.models import Deployment, Project, ProjectStatus, Repository, User
from lambdas.shared.names import PROJECTS_OWNER_INDEX
from lambdas.shared.store import AliasTaken, Conflict, KeeperLost, Store
from tests.support.tables import create_tables


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        env = create_tables(boto3.client("dynamodb"))
        yield Store(boto3.resource("dynamodb"), env)


def project(name: str = "shop", owner: str = "1") -> Project:
    return Project(
        name=name, owner_id=owner, repository=Repository(id=7, full_name="o/shop", installation_id=3)
    )


def test_create_refuses_an_existing_record(store: Store) -> None:
    store.projects.create(project())
    with pytest.raises(Conflict):
        store.projects.create(project(owner="2"))
    loaded = store.projects.get(name="shop")
    assert loaded is not None and loaded.owner_id == "1"


def test_update_sets_removes_and_honours_conditions(store: Store) -> None:
    store.projects.create(project())
    updated = store.projects.update({"name": "shop"}, {"status": "LIVE", "live_deployment": "d1"})
    assert updated.status == ProjectStatus.LIVE and updated.live_deployment == "d1"
    cleared = store.projects.update({"name": "shop"}, {"live_deployment": None})
    assert cleared.live_deployment is None
    with pytest.raises(Conflict):
        store.projects.update({"name": "missing"}, {"status": "LIVE"})
    with pytest.raises(Conflict):
        store.projects.update(
            {"name": "shop"},
            {"status": "LIVE"},
            condition="owner_id = :o",
            condition_values={":o": "someone-else"},
        )


def test_queries_page_through_everything(store: Store) -> None:
    for i in range(30):
        store.projects.create(project(f"p{i:02d}", owner="42"))
    store.projects.create(project("other", owner="7"))
    owned = list(store.projects.query(PROJECTS_OWNER_INDEX, owner_id="42"))
    assert len(owned) == 30
    for i in range(5):
        store.deployments.create(Deployment(project_name="shop", deployment_id=f"2026112{i}T000000-aaaaaa"))
    newest = [d.deployment_id for d in store.deployments.query(newest_first=True, project_name="shop")]
    assert newest == sorted(newest, reverse=True) and len(newest) == 5


def test_nonces_are_single_use(store: Store) -> None:
    assert store.claim_nonce("ticket-1", 2_000_000_000)
    assert not store.claim_nonce("ticket-1", 2_000_000_000)


def test_users_round_trip_with_roles(store: Store) -> None:
    store.users.create(User(id="1", login="octo"))
    user = store.users.get(id="1")
    assert user is not None and user.roles == ["USER"] and not user.privileged


def test_an_alias_claimed_by_one_project_is_refused_to_another(store: Store) -> None:
    store.projects.create(project("shop", "1"))
    store.projects.create(project("site", "2"))
    store.claim_aliases("shop", ["promo", "sale"])
    store.claim_aliases("shop", ["promo"])  # its own claim again: fine
    with pytest.raises(AliasTaken) as taken:
        store.claim_aliases("site", ["new", "sale"])
    assert taken.value.alias == "sale"
    with pytest.raises(AliasTaken):  # another project's name
        store.claim_aliases("site", ["shop"])
    # Nothing of a refused claim was written: "new" is still free.
    store.claim_aliases("shop", ["new"])
    store.release_aliases("site", ["promo"])  # not site's: stays
    with pytest.raises(AliasTaken):
        store.claim_aliases("site", ["promo"])
    store.release_aliases("shop", ["promo"])
    store.claim_aliases("site", ["promo"])


def test_a_role_is_taken_only_while_the_keeper_still_holds_it(store: Store) -> None:
    anna = User(id="1", login="anna", roles=["USER", "ROLE_MANAGER"])
    ben = User(id="2", login="ben", roles=["USER", "ROLE_MANAGER"])
    store.users.create(anna)
    store.users.create(ben)
    demoted = store.set_roles_kept(ben, ["USER"], keeper="1", role="ROLE_MANAGER")
    assert demoted.roles == ["USER"] and demoted.session_version == ben.session_version + 1
    # ben is no keeper any more: anna keeps the role.
    with pytest.raises(KeeperLost):
        store.set_roles_kept(anna, ["USER"], keeper="2", role="ROLE_MANAGER")
    kept = store.users.get(id="1")
    assert kept is not None and "ROLE_MANAGER" in kept.roles
    with pytest.raises(Conflict):  # changed since read
        store.set_roles_kept(ben, ["USER"], keeper="1", role="ROLE_MANAGER")
