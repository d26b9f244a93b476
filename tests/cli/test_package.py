"""Packaging: reproducible, content-addressed artifacts; `battleshiper package` and `synth`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from battleshiper_cli.main import app
from battleshiper_cli.packaging import WHEELS, PackagedArtifact, package_all, tree_entries, zip_bytes
from templates.config import ARTIFACT_NAMES
from templates.dashboard import DASHBOARD_STATIC_PATHS
from tests.cli.runner import Runner

runner = Runner()

# The handler paths the templates give Lambda, by artifact.
HANDLERS = {
    "api": ["lambdas.api.auth.handler", "lambdas.api.user.handler", "lambdas.api.resource.handler",
            "lambdas.api.admin.handler", "lambdas.api.webhook.handler"],
    "router": ["lambdas.router.handler.handler"],
    "pipeline": ["lambdas.pipeline.init.handler", "lambdas.pipeline.deploy.handler",
                 "lambdas.pipeline.delete.handler"],
    "hooks": ["lambdas.hooks.pre_traffic.handler", "lambdas.hooks.post_traffic.handler"],
}
ELF_MACHINE_AARCH64 = 183
ELF_MACHINE_X86_64 = 62


@dataclass
class Build:
    dir: Path
    artifacts: dict[str, PackagedArtifact]
    log: list[str]


def build(build_dir: Path) -> Build:
    log: list[str] = []
    return Build(build_dir, package_all("battleshiper", build_dir, log=log.append), log)


@pytest.fixture(scope="session")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One full build (downloads the layer's wheels once for the whole session)."""
    return build(tmp_path_factory.mktemp("cold"))


@pytest.fixture(scope="session")
def second(cold: Build, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A build from scratch elsewhere; only the downloaded wheels are shared (no second download)."""
    build_dir = tmp_path_factory.mktemp("second")
    shutil.copytree(cold.dir / WHEELS, build_dir / WHEELS)
    return build(build_dir)


def read_zip(artifact: PackagedArtifact) -> zipfile.ZipFile:
    return zipfile.ZipFile(artifact.path)


def test_every_artifact_is_built_and_named_by_its_hash(cold: Build) -> None:
    assert list(cold.artifacts) == list(ARTIFACT_NAMES)
    for name, artifact in cold.artifacts.items():
        assert artifact.sha256 == hashlib.sha256(artifact.path.read_bytes()).hexdigest()
        assert artifact.key.startswith(f"{name}/{artifact.sha256}.")
        assert artifact.path == cold.dir / artifact.key
    assert sorted(line.split(":")[0] for line in cold.log if ": built " in line) == sorted(ARTIFACT_NAMES)


def test_two_builds_from_scratch_are_byte_identical(cold: Build, second: Build) -> None:
    assert sorted(line.split(":")[0] for line in second.log if ": built " in line) == sorted(ARTIFACT_NAMES)
    for name in ARTIFACT_NAMES:
        assert second.artifacts[name].key == cold.artifacts[name].key, name
        assert second.artifacts[name].path.read_bytes() == cold.artifacts[name].path.read_bytes(), name


def test_a_warm_run_rebuilds_nothing(cold: Build) -> None:
    mtimes = {name: a.path.stat().st_mtime_ns for name, a in cold.artifacts.items()}
    warm = build(cold.dir)
    assert sorted(warm.log) == sorted(f"{name}: up to date" for name in ARTIFACT_NAMES)
    assert warm.artifacts == cold.artifacts
    assert {name: a.path.stat().st_mtime_ns for name, a in warm.artifacts.items()} == mtimes


def test_a_lost_artifact_is_rebuilt_alone_and_identically(second: Build) -> None:
    api = second.artifacts["api"]
    api.path.unlink()
    again = build(second.dir)
    assert [line.split(" (")[0] for line in again.log if ": built " in line] == [f"api: built {api.key}"]
    assert again.artifacts["api"] == api
    assert api.path.is_file()


def test_zip_writer_ignores_time_permissions_and_creation_order(tmp_path: Path) -> None:
    def tree(root: Path, order: list[str], file_mode: int, script_mode: int, mtime: int) -> Path:
        files = {"b/handler.py": b"def handler(e, c): ...\n", "a.py": b"x = 1\n", "run.sh": b"#!/bin/sh\n"}
        for name in order:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[name])
            path.chmod(script_mode if name == "run.sh" else file_mode)
            os.utime(path, (mtime, mtime))
        return root

    one = tree(tmp_path / "one", ["a.py", "b/handler.py", "run.sh"], 0o644, 0o755, 1_000_000_000)
    two = tree(tmp_path / "two", ["run.sh", "b/handler.py", "a.py"], 0o600, 0o700, 1_700_000_000)
    (two / "b" / "__pycache__").mkdir()
    (two / "b" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"compiled")
    (two / "a.pyc").write_bytes(b"compiled")

    first = zip_bytes(tree_entries(one, "pkg/"))
    assert zip_bytes(tree_entries(two, "pkg/")) == first

    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert [i.filename for i in infos] == ["pkg/a.py", "pkg/b/handler.py", "pkg/run.sh"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.filename: i.external_attr >> 16 & 0o777 for i in infos} == {
        "pkg/a.py": 0o644, "pkg/b/handler.py": 0o644, "pkg/run.sh": 0o755}

    (two / "a.py").write_bytes(b"x = 2\n")
    assert zip_bytes(tree_entries(two, "pkg/")) != first


@pytest.mark.parametrize("artifact", sorted(HANDLERS))
def test_code_zips_hold_the_handlers_at_the_template_paths(cold: Build, artifact: str,
                                                           tmp_path: Path) -> None:
    with read_zip(cold.artifacts[artifact]) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert {"lambdas/__init__.py", "lambdas/shared/__init__.py", "lambdas/shared/names.py"} <= names
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    for handler in HANDLERS[artifact]:
        assert f"{handler.rsplit('.', 1)[0].replace('.', '/')}.py" in names
    # The handlers import from the zip alone (plus the layer's dependencies), as Lambda loads them.
    code = ("import importlib, json, sys\n"
            "for h in sys.argv[1:]:\n"
            "    m, f = h.rsplit('.', 1)\n"
            "    mod = importlib.import_module(m)\n"
            f"    assert mod.__file__.startswith({str(tmp_path)!r}), mod.__file__\n"
            "    assert callable(getattr(mod, f))\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", code, *HANDLERS[artifact]], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_layer_holds_aarch64_wheels_and_nothing_from_the_host(cold: Build) -> None:
    with read_zip(cold.artifacts["layer"]) as archive:
        names = archive.namelist()
        machines = {n: int.from_bytes(archive.read(n)[18:20], "little") for n in names
                    if n.endswith(".so") or ".so." in n}
    assert all(n.startswith("python/") for n in names)
    for package in ("pydantic", "pydantic_core", "jwt", "cryptography", "awscrt", "boto3", "botocore"):
        assert f"python/{package}/__init__.py" in names, package
    assert any(n.startswith("python/pydantic_core/_pydantic_core.cpython-313-aarch64") for n in machines)
    assert set(machines.values()) == {ELF_MACHINE_AARCH64}
    assert not any("x86_64" in n for n in names)
    host_specific = (".pyc", "/RECORD", "/INSTALLER", "/direct_url.json")
    assert not any(n.endswith(host_specific) or n.startswith("python/bin/") for n in names)


def test_dashboard_server_renders_the_app_shell_in_payload_2_shape(cold: Build, tmp_path: Path) -> None:
    with read_zip(cold.artifacts["dashboard-server"]) as archive:
        assert archive.namelist() == ["index.mjs"]
        archive.extractall(tmp_path)
    event = {"version": "2.0", "rawPath": "/profile", "rawQueryString": "",
             "headers": {"host": "ship.example.com"},
             "requestContext": {"http": {"method": "GET", "path": "/profile", "sourceIp": "192.0.2.1"}},
             "isBase64Encoded": False}
    script = ("import { handler } from './index.mjs';\n"
              f"console.log(JSON.stringify(await handler({json.dumps(event)})));\n")
    result = subprocess.run(["node", "--input-type=module", "-e", script], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    page = json.loads(result.stdout)
    assert page["statusCode"] == 200 and page["headers"]["content-type"].startswith("text/html")
    assert "/_app/immutable/entry/start." in page["body"]


def test_placeholder_project_server_answers_not_deployed_yet(cold: Build, tmp_path: Path) -> None:
    with read_zip(cold.artifacts["project-server"]) as archive:
        archive.extractall(tmp_path)
    script = ("import { handler } from './index.mjs';\n"
              "console.log(JSON.stringify(await handler({ rawPath: '/' })));\n")
    result = subprocess.run(["node", "--input-type=module", "-e", script], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    response = json.loads(result.stdout)
    assert response["statusCode"] == 503 and response["cookies"] == []
    assert "Not deployed yet" in response["body"]


def test_dashboard_assets_hold_the_landing_page_and_the_app_within_the_static_paths(cold: Build) -> None:
    with read_zip(cold.artifacts["dashboard-assets"]) as archive:
        names = set(archive.namelist())
        page = archive.read("index.html").decode()
    assert {"index.html", "favicon.svg", "robots.txt", "_app/version.json"} <= names
    assert any(n.startswith("_app/immutable/entry/") for n in names)
    # Everything else is served by the dashboard function: the CDN sends only these paths to S3.
    patterns = [p.lstrip("/").replace("*", "") for p in DASHBOARD_STATIC_PATHS if p != "/"]
    assert all(n == "index.html" or any(n.startswith(p) for p in patterns) for n in names), names
    assert "Sign in with GitHub" in page and 'href="/favicon.svg"' in page


def test_package_command_prints_the_manifest_as_json(cold: Build) -> None:
    result = runner.invoke(app, ["--output", "json", "package", "--out", str(cold.dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert sorted(manifest) == sorted(ARTIFACT_NAMES)
    for name, entry in manifest.items():
        assert entry["key"] == cold.artifacts[name].key
        assert entry["size"] == Path(entry["path"]).stat().st_size


def test_package_command_prints_a_table(cold: Build) -> None:
    result = runner.invoke(app, ["package", "--out", str(cold.dir)])
    assert result.exit_code == 0, result.output
    for name, artifact in cold.artifacts.items():
        assert name in result.stdout and artifact.sha256[:12] in result.stdout


def test_synth_prints_a_template_that_points_at_the_packaged_keys(cold: Build) -> None:
    result = runner.invoke(app, ["synth", "--build-dir", str(cold.dir)])
    assert result.exit_code == 0, result.output
    template = json.loads(result.stdout)
    keys = {a.key for a in cold.artifacts.values()}
    layer = template["Resources"]["DependencyLayer"]["Properties"]["Content"]
    assert layer["S3Key"] == cold.artifacts["layer"].key
    assert template["Outputs"]["ProjectTemplateKey"]["Value"] == cold.artifacts["project-template"].key
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            assert resource["Properties"]["Code"]["S3Key"] in keys
