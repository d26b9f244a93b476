"""`battleshiper project env list|set|unset|pull` through `lambdas.shared.environment`, against moto
(CloudFormation, DynamoDB, KMS with the platform's token key under its alias)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from battleshiper_cli.main import app
from lambdas.shared import environment
from tests.cli.project_support import REGION, World, platform_world, seed
from tests.cli.runner import Runner

runner = Runner()
SECRET = "s3cr3t-value-never-shown"
SAMPLE_APP = Path(__file__).parents[1] / "fixtures" / "sample-app"
TRICKY = 'say "hi" \\o/\nsecond line $HOME=x # not a comment'


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with platform_world(monkeypatch) as w:
        seed(w)
        w.token_key()
        yield w


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--region", REGION, *args], input=stdin, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def listed(name: str = "blog") -> list[dict[str, object]]:
    code, out = run("--output", "json", "project", "env", "list", name)
    assert code == 0, out
    return list(json.loads(out))


def parse_dotenv(text: str, tmp_path: Path) -> dict[str, str]:
    """The file read back by Vite's own `loadEnv` (what `vite dev` and a SvelteKit build read)."""
    folder = tmp_path / "read"
    folder.mkdir(exist_ok=True)
    (folder / ".env").write_text(text)
    script = ("import {loadEnv} from 'vite';"
              f"console.log(JSON.stringify(loadEnv('production', {json.dumps(str(folder))}, '')))")
    out = subprocess.run(["node", "--input-type=module", "-e", script], cwd=SAMPLE_APP,
                         env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True).stdout
    return {k: v for k, v in json.loads(out).items() if k not in os.environ and k != "PATH"}


def test_set_then_list_shows_plain_values_and_masks_secrets(world: World) -> None:
    code, out = run("project", "env", "set", "blog", "GREETING=hello=world", "--runtime")
    assert code == 0, out
    assert "set GREETING (production, preview; runtime) on blog: redeploy to apply" in out
    code, out = run("project", "env", "set", "blog", f"API_KEY={SECRET}", "--secret",
                    "--target", "production")
    assert code == 0, out
    assert "set secret API_KEY (production; build, runtime) on blog" in out
    assert SECRET not in out

    code, out = run("project", "env", "list", "blog")
    assert code == 0, out
    assert "hello=world" in out  # split at the first `=` only
    assert environment.MASK in out and SECRET not in out
    assert "operator" in out

    views = listed()
    assert SECRET not in json.dumps(views)
    assert [(v["name"], v["target"], v["kind"], v["applies"], v["value"], v["masked"]) for v in views] == [
        ("API_KEY", "production", "secret", "both", None, True),
        ("GREETING", "preview", "plain", "runtime", "hello=world", False),
        ("GREETING", "production", "plain", "runtime", "hello=world", False),
    ]
    assert {v["updated_by"] for v in views} == {"operator"}
    project = world.store.projects.get(name="blog")
    assert project is not None and project.env_revision == 2
    assert SECRET not in project.model_dump_json()  # sealed at rest

    code, out = run("--output", "json", "project", "env", "set", "blog", "GREETING=hi", "--build")
    assert code == 0, out
    assert SECRET not in out
    greeting = {(v["value"], v["applies"]) for v in json.loads(out) if v["name"] == "GREETING"}
    assert greeting == {("hi", "build")}


def test_a_value_from_standard_input(world: World) -> None:
    code, out = run("project", "env", "set", "blog", "TOKEN=-", "PLAIN=x", "--secret", stdin=f"{SECRET}\n")
    assert code == 0, out
    code, out = run("project", "env", "pull", "blog", "--file", "-", "--include-secrets")
    assert code == 0, out
    assert f"TOKEN='{SECRET}'" in out  # the newline `echo` adds is not part of the value


def test_unset_removes_and_none_set_is_an_error(world: World) -> None:
    assert run("project", "env", "set", "blog", "A=1", "B=2")[0] == 0

    code, out = run("project", "env", "unset", "blog", "A", "--target", "preview")
    assert code == 0, out
    assert "removed A (preview) from blog: redeploy to apply" in out
    assert [(v["name"], v["target"]) for v in listed()] == [("A", "production"), ("B", "preview"),
                                                           ("B", "production")]

    code, out = run("--output", "json", "project", "env", "unset", "blog", "A", "B", "NOPE")
    assert code == 0, out
    assert json.loads(out) == []

    code, out = run("project", "env", "unset", "blog", "A")
    assert code == 1, out
    assert "error: no such variable: A" in out
    assert "Traceback" not in out


def test_pull_writes_a_private_dotenv_file_without_secrets_unless_asked(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("project", "env", "set", "blog", f"TRICKY={TRICKY}", "EMPTY=", "--target", "production")
    assert code == 0, out
    assert run("project", "env", "set", "blog", f"API_KEY={SECRET}", "--secret")[0] == 0
    assert run("project", "env", "set", "blog", "ONLY_PREVIEW=p", "--target", "preview")[0] == 0
    dotenv = tmp_path / ".env"
    dotenv.write_text("OLD=stale\n" * 100)
    dotenv.chmod(0o644)

    code, out = run("project", "env", "pull", "blog")
    assert code == 0, out
    assert "wrote 2 variables to .env (1 secret left out: pass --include-secrets)" in out
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    text = dotenv.read_text()
    assert SECRET not in text and "OLD" not in text
    assert text.splitlines()[0].startswith("EMPTY=")  # sorted by name
    assert parse_dotenv(text, tmp_path) == {"EMPTY": "", "TRICKY": TRICKY}

    code, out = run("--output", "json", "project", "env", "pull", "blog", "--include-secrets",
                    "--file", "x.env")
    assert code == 0, out
    assert json.loads(out) == {"file": "x.env", "variables": 3, "secrets_left_out": 0}
    assert stat.S_IMODE((tmp_path / "x.env").stat().st_mode) == 0o600
    assert parse_dotenv((tmp_path / "x.env").read_text(), tmp_path) == {"API_KEY": SECRET, "EMPTY": "",
                                                             "TRICKY": TRICKY}

    code, out = run("project", "env", "pull", "blog", "--target", "preview", "--file", "-")
    assert code == 0, out
    assert "ONLY_PREVIEW='p'" in out and "TRICKY" not in out


def test_a_reserved_name_is_refused_with_the_reason_and_nothing_is_stored(world: World) -> None:
    code, out = run("project", "env", "set", "blog", "GREETING=hello", "AWS_REGION=eu-west-1")
    assert code == 2, out
    assert out.strip().splitlines() == ["error: AWS_REGION is reserved by AWS Lambda"]
    project = world.store.projects.get(name="blog")
    assert project is not None and project.environment == {} and project.env_revision == 0


@pytest.mark.parametrize(("args", "says"), [
    (["set", "blog", "GREETING"], "'GREETING' is not KEY=VALUE"),
    (["set", "blog", "A=1", "--build", "--runtime"], "--build and --runtime exclude each other"),
    (["set", "blog", "A=-", "B=-"], "only one value can come from standard input"),
    (["pull", "blog", "--file", "-"], "cannot be combined with --output json"),
])
def test_bad_input_is_a_usage_error(world: World, args: list[str], says: str) -> None:
    code, out = run("--output", "json", "project", "env", *args)
    assert code == 2, out
    assert out.startswith("error: ") and says in out.splitlines()[0]
    assert "Traceback" not in out
    project = world.store.projects.get(name="blog")
    assert project is not None and project.environment == {}


@pytest.mark.parametrize("command", [["list", "nope"], ["set", "nope", "A=1"], ["unset", "nope", "A"],
                                     ["pull", "nope"]])
def test_a_missing_project_is_exit_1(world: World, command: list[str]) -> None:
    code, out = run("project", "env", *command)
    assert code == 1, out
    assert "no project nope" in out


def test_a_stored_value_that_does_not_open_is_one_line(world: World) -> None:
    assert run("project", "env", "set", "blog", "A=1", "--target", "production")[0] == 0
    project = world.store.projects.get(name="blog")
    assert project is not None
    stored = project.environment["production/A"].model_dump(mode="json")
    stored["value"] = stored["value"][:-4] + ("AAAA" if not stored["value"].endswith("AAAA") else "BBBB")
    world.store.projects.update({"name": "blog"}, {"environment": {"production/A": stored}})

    code, out = run("project", "env", "list", "blog")
    assert code == 2, out
    assert out.startswith("error: a stored value of project blog does not decrypt")
    assert "Traceback" not in out


def test_pull_quotes_what_vite_reads_back_and_refuses_what_no_quoting_keeps(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    apostrophe = "it's $5 ${X}"
    assert run("project", "env", "set", "blog", f"QUOTE={apostrophe}", "--target", "production")[0] == 0
    code, out = run("project", "env", "pull", "blog", "--file", "-")
    assert code == 0, out
    assert parse_dotenv(out, tmp_path) == {"QUOTE": apostrophe}

    assert run("project", "env", "set", "blog", "ALL=' ` \"", "--target", "production")[0] == 0
    (tmp_path / ".env").write_text("KEPT=1\n")
    code, out = run("project", "env", "pull", "blog")
    assert code == 2, out
    assert out.splitlines()[0] == "error: ALL cannot be written to a .env file: its value holds ', ` and \""
    assert (tmp_path / ".env").read_text() == "KEPT=1\n"  # nothing replaced
