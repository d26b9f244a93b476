"""`battleshiper project list|show` against moto (CloudFormation, DynamoDB)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from battleshiper_cli.main import app
from tests.cli.project_support import DOMAIN, REGION, World, platform_world, seed
from tests.cli.runner import Runner

runner = Runner()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as monkeypatch, platform_world(monkeypatch) as w:
        seed(w)
        yield w


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--region", REGION, *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_list_shows_every_project_with_owner_status_deployments_and_url(world: World) -> None:
    code, out = run("--output", "json", "project", "list")
    assert code == 0, out
    rows = {r["name"]: r for r in json.loads(out)}
    assert sorted(rows) == ["blog", "docs", "shop"]
    blog = rows["blog"]
    assert blog["owner"] == "alice"
    assert blog["status"] == "LIVE"
    assert blog["live_deployment"] == "20261101T100000-aaaaaa"
    # The newest deployment, whatever its state, is the last one.
    assert blog["last_deployment"]["id"] == "20261102T080000-cccccc"
    assert blog["last_deployment"]["status"] == "FAILED"
    assert blog["aliases"] == ["blog", "www-blog"]
    assert blog["url"] == f"https://blog.{DOMAIN}"
    assert rows["shop"]["last_deployment"] is None
    assert rows["shop"]["aliases"] == ["shop"]
    assert rows["docs"]["owner"] == "bob"


def test_list_as_a_table(world: World) -> None:
    code, out = run("project", "list")
    assert code == 0, out
    for text in ("blog", "alice", "LIVE", "20261102T080000-cccccc", f"https://shop.{DOMAIN}", "www-blog"):
        assert text in out


def test_show_reports_record_stack_deployments_lock_quota_and_urls(world: World) -> None:
    code, out = run("--output", "json", "project", "show", "blog")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["project"]["repository"]["full_name"] == "alice/blog"
    assert shown["owner"] == {"id": "101", "login": "alice"}
    assert shown["stack"] == {"name": "battleshiper-project-blog", "status": "CREATE_COMPLETE"}
    assert [d["deployment_id"] for d in shown["deployments"]] == [
        "20261102T080000-cccccc", "20261101T100000-aaaaaa", "20261101T090000-bbbbbb"]
    assert shown["lock"]["owner"] == "exec-42"
    assert shown["lock"]["expired"] is False
    assert shown["quota"] == {
        "projects": {"used": 2, "limit": 3},  # blog and shop
        "aliases": {"used": 2, "limit": 3},
        "builds_today": {"used": 2, "limit": 5},
        "variables": {"used": 0, "limit": 100},
        "variable_bytes": {"used": 0, "limit": 64 * 1024},
    }
    assert "environment" not in shown["project"]
    assert shown["urls"] == [f"https://blog.{DOMAIN}", f"https://www-blog.{DOMAIN}"]


def test_show_a_project_without_stack_or_subscription(world: World) -> None:
    code, out = run("--output", "json", "project", "show", "shop")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["stack"]["status"] == "missing"
    assert shown["deployments"] == []
    assert shown["lock"] is None

    code, out = run("--output", "json", "project", "show", "docs")
    shown = json.loads(out)
    assert shown["subscription"] is None
    assert shown["quota"]["projects"]["limit"] == 1  # the default limits apply


def test_show_as_text(world: World) -> None:
    code, out = run("project", "show", "blog")
    assert code == 0, out
    for text in ("alice/blog", "held by exec-42", "npm ERR!", "battleshiper-project-blog", "builds today",
                 f"https://www-blog.{DOMAIN}"):
        assert text in out


@pytest.mark.parametrize("command", [["show", "nope"], ["logs", "nope"]])
def test_a_missing_project_is_one_line_and_exit_1(world: World, command: list[str]) -> None:
    code, out = run("project", *command)
    assert code == 1
    assert "no project nope" in out
    assert "Traceback" not in out


def test_a_missing_platform_is_one_line_and_exit_2(world: World) -> None:
    commands = (["project", "list"], ["project", "show", "blog"], ["project", "logs", "blog"], ["status"])
    for command in commands:
        code, out = run("--stack-name", "other", *command)
        assert code == 2, (command, out)
        assert "no platform stack other" in out
        assert "Traceback" not in out
