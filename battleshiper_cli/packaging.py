"""Packaging: build every artifact the platform ships, reproducibly, named by its content hash.

The same sources give byte-identical files on every machine (fixed timestamps, order and
permissions), so an artifact's S3 key `<name>/<sha256><suffix>` changes only when its content
does: an unchanged artifact is neither uploaded again nor causes a stack change. A manifest of
input digests in the build directory makes a warm run rebuild nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battleshiper_cli.errors import BattleshiperError
from battleshiper_cli.synthesis import project_template_json
from lambdas.shared.names import BUILD_CLIENT_DIR, BUILD_PRERENDERED_DIR
from lambdas.shared.names import BUILD_SERVER_ZIP as SERVER_ZIP
from templates.config import ARTIFACT_NAMES

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDAS = REPO_ROOT / "lambdas"
REQUIREMENTS = LAMBDAS / "requirements.txt"
# The server code a new project's stack starts with, until its first deployment.
PLACEHOLDER_PROJECT_SERVER = REPO_ROOT / "web" / "placeholder" / "project-server"
# The dashboard: a SvelteKit app built with our own adapter (file:../adapter), so both are its sources.
ADAPTER = REPO_ROOT / "web" / "adapter"
DASHBOARD = REPO_ROOT / "web" / "dashboard"
DASHBOARD_OUTPUT = DASHBOARD / "build"
# What npm, SvelteKit and the tests write into the dashboard's folder: outputs, not sources.
DASHBOARD_SKIP = ("node_modules", ".svelte-kit", "build", "test-results", "screenshots")
DASHBOARD_STAMP = ".battleshiper-inputs"  # in the build output: the source digest it was built from

DEFAULT_BUILD_DIR = Path(".battleshiper/build")
MANIFEST = "manifest.json"
WHEELS = "wheels"
# Part of every input digest: bump it when the way artifacts are built changes, so caches refresh.
RECIPE_VERSION = "1"

# The Lambda platform of the dependency layer (PlatformConfig: arm64, python3.13). Wheels only,
# so nothing is compiled on (or copied from) the host.
LAYER_PLATFORM = (
    "--platform", "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--python-version", "3.13",
    "--implementation", "cp",
)
# Files `pip install --target` writes that only matter to pip and may vary between hosts (RECORD
# lists the `bin/` scripts, whose shebang names the host's interpreter; `bin/` goes too).
LAYER_STRIP_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}

# Python code artifacts: each holds the shared package and its own group.
CODE_GROUPS = ("api", "router", "pipeline", "hooks")

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
SKIP_DIRS = {"__pycache__", "node_modules", ".pytest_cache", ".mypy_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(BattleshiperError):
    """An artifact could not be built; nothing in AWS was touched."""


@dataclass(frozen=True)
class PackagedArtifact:
    name: str
    path: Path
    sha256: str
    key: str  # `<name>/<sha256><suffix>`: the S3 key in the artifacts bucket

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class Entry:
    """One file of a zip, with everything that decides its bytes."""

    arcname: str
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class Recipe:
    suffix: str
    inputs: str  # digest of everything the output is a function of
    produce: Callable[[], bytes]


# --- reproducible zips ------------------------------------------------------------------------

def tree_entries(root: Path, prefix: str = "", *, skip: Iterable[Path] = ()) -> list[Entry]:
    """Every file under `root` as `<prefix><relative path>`, without caches and compiled Python."""
    skipped = {p.resolve() for p in skip}
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and (here / d).resolve() not in skipped]
        for filename in filenames:
            path = here / filename
            if path.suffix in SKIP_SUFFIXES or path.resolve() in skipped:
                continue
            entries.append(
                Entry(
                    arcname=prefix + path.relative_to(root).as_posix(),
                    data=path.read_bytes(),
                    executable=bool(path.stat().st_mode & 0o100),
                )
            )
    return entries


def zip_bytes(entries: Iterable[Entry]) -> bytes:
    """A zip that depends only on the entries: sorted, fixed time, 0o644/0o755, fixed compression."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in sorted(entries, key=lambda e: e.arcname):
            info = zipfile.ZipInfo(entry.arcname, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = (0o100755 if entry.executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data, compresslevel=6)
    return buffer.getvalue()


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256(RECIPE_VERSION.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def bytes_recipe(suffix: str, data: bytes) -> Recipe:
    """An artifact that is a single file, as is."""
    return Recipe(suffix, digest(suffix, data), lambda: data)


def zip_recipe(entries: list[Entry]) -> Recipe:
    inputs = digest(*(f"{e.arcname}:{e.executable}:{hashlib.sha256(e.data).hexdigest()}" for e in entries))
    return Recipe(".zip", inputs, lambda: zip_bytes(entries))


# --- the artifacts ----------------------------------------------------------------------------

def code_recipe(group: str) -> Recipe:
    entries = [Entry("lambdas/__init__.py", (LAMBDAS / "__init__.py").read_bytes())]
    entries += tree_entries(LAMBDAS / "shared", "lambdas/shared/")
    if (LAMBDAS / group).is_dir():
        entries += tree_entries(LAMBDAS / group, f"lambdas/{group}/")
    return zip_recipe(entries)


def pip(*args: str | Path) -> None:
    # The CLI's own interpreter runs pip; what it installs is chosen by LAYER_PLATFORM, not the host.
    result = subprocess.run([sys.executable, "-m", "pip", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise PackagingError(
            f"pip {args[0]} failed: {lines[-1] if lines else 'exit code ' + str(result.returncode)}",
            hint="check access to the Python package index (the layer's wheels are downloaded once "
                 "and then reused from the build directory)",
        )


def install_layer(build_dir: Path) -> bytes:
    wheels = build_dir / WHEELS
    with tempfile.TemporaryDirectory(dir=build_dir, prefix="layer-") as tmp:
        target = Path(tmp) / "python"

        def install() -> None:
            shutil.rmtree(target, ignore_errors=True)
            pip("install", "--quiet", "--target", target, "--no-index", "--find-links", wheels,
                *LAYER_PLATFORM, "--no-compile", "-r", REQUIREMENTS)

        try:  # from the wheel cache, without the network
            install()
        except PackagingError:
            pip("download", "--quiet", "--dest", wheels, *LAYER_PLATFORM, "-r", REQUIREMENTS)
            install()
        shutil.rmtree(target / "bin", ignore_errors=True)
        for path in target.glob("*.dist-info/*"):
            if path.name in LAYER_STRIP_FILES:
                path.unlink()
        return zip_bytes(tree_entries(target, "python/"))


def layer_recipe(build_dir: Path) -> Recipe:
    inputs = digest(REQUIREMENTS.read_bytes(), " ".join(LAYER_PLATFORM))
    return Recipe(".zip", inputs, lambda: install_layer(build_dir))


def project_template_recipe(stack_name: str, others: Mapping[str, PackagedArtifact]) -> Recipe:
    return bytes_recipe(".json", project_template_json(stack_name, others).encode())


def dashboard_inputs() -> str:
    """Digest of the dashboard's and the adapter's sources and lock files (no outputs, no modules)."""
    entries = tree_entries(DASHBOARD, skip=[DASHBOARD / d for d in DASHBOARD_SKIP])
    entries += tree_entries(ADAPTER, "adapter/", skip=[ADAPTER / "test"])
    ordered = sorted(entries, key=lambda e: e.arcname)
    return digest(*(f"{e.arcname}:{hashlib.sha256(e.data).hexdigest()}" for e in ordered))


def npm(*args: str, env: Mapping[str, str] | None = None) -> None:
    npm_bin = shutil.which("npm")
    if npm_bin is None:
        raise PackagingError("npm is needed to build the dashboard",
                             hint="install Node.js 20 or newer with npm")
    result = subprocess.run([npm_bin, *args, "--no-audit", "--no-fund"], cwd=DASHBOARD, capture_output=True,
                            text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise PackagingError(f"npm {' '.join(args)} failed in web/dashboard: {last}",
                             hint="run `npm ci && npm run build` in web/dashboard to see the whole output")


def build_dashboard(inputs: str) -> Path:
    """`npm ci && npm run build` in web/dashboard, unless its output was built from these sources.
    The version SvelteKit embeds is the sources' digest (not the build time), so output is reproducible."""
    stamp = DASHBOARD_OUTPUT / DASHBOARD_STAMP
    if stamp.is_file() and stamp.read_text() == inputs:
        return DASHBOARD_OUTPUT
    npm("ci")
    npm("run", "build", env={"BATTLESHIPER_DASHBOARD_VERSION": inputs[:16]})
    stamp.write_text(inputs)
    return DASHBOARD_OUTPUT


def dashboard_server_entries(output: Path) -> list[Entry]:
    """The adapter's handler.zip content (index.mjs at the root) as the function code."""
    with zipfile.ZipFile(output / SERVER_ZIP) as archive:
        return [Entry(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]


def dashboard_asset_entries(output: Path) -> list[Entry]:
    """Client files and prerendered pages at their URL paths (what
    lambdas/shared/dashboard_assets.py uploads)."""
    return [Entry(e.arcname, e.data) for folder in (BUILD_CLIENT_DIR, BUILD_PRERENDERED_DIR)
            for e in tree_entries(output / folder)]


def dashboard_recipe(entries: Callable[[Path], list[Entry]]) -> Recipe:
    inputs = dashboard_inputs()
    return Recipe(".zip", digest("dashboard", entries.__name__, inputs),
                  lambda: zip_bytes(entries(build_dashboard(inputs))))


def recipes(build_dir: Path) -> dict[str, Recipe]:
    """How to build each artifact except the project template (which needs the others' keys)."""
    return {
        "layer": layer_recipe(build_dir),
        **{group: code_recipe(group) for group in CODE_GROUPS},
        "dashboard-server": dashboard_recipe(dashboard_server_entries),
        "dashboard-assets": dashboard_recipe(dashboard_asset_entries),
        "project-server": zip_recipe(tree_entries(PLACEHOLDER_PROJECT_SERVER)),
    }


# --- building with the manifest ---------------------------------------------------------------

def read_manifest(build_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((build_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_manifest(build_dir: Path, manifest: Mapping[str, Any]) -> None:
    tmp = build_dir / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    tmp.replace(build_dir / MANIFEST)


def materialise(name: str, recipe: Recipe, build_dir: Path, manifest: dict[str, dict[str, Any]],
                say: Callable[[str], None]) -> PackagedArtifact:
    known = manifest.get(name, {})
    if known.get("inputs") == recipe.inputs and (build_dir / known.get("key", "")).is_file():
        say(f"{name}: up to date")
        return PackagedArtifact(name, build_dir / known["key"], known["sha256"], known["key"])
    data = recipe.produce()
    sha256 = hashlib.sha256(data).hexdigest()
    key = f"{name}/{sha256}{recipe.suffix}"
    path = build_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.iterdir():  # one current file per artifact
        if stale != path:
            stale.unlink()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    manifest[name] = {"inputs": recipe.inputs, "sha256": sha256, "key": key}
    write_manifest(build_dir, manifest)
    say(f"{name}: built {key} ({len(data)} bytes)")
    return PackagedArtifact(name, path, sha256, key)


def package_all(
    stack_name: str,
    build_dir: Path = DEFAULT_BUILD_DIR,
    *,
    log: Callable[[str], None] | None = None,
) -> dict[str, PackagedArtifact]:
    """Build every artifact into `build_dir` (reusing what is up to date) in `ARTIFACT_NAMES` order.
    `log` receives one line per artifact: `<name>: built ...` or `<name>: up to date`."""
    say = log or (lambda _line: None)
    build_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(build_dir)
    todo = recipes(build_dir)
    missing = set(ARTIFACT_NAMES) - set(todo) - {"project-template"}
    if missing:
        raise PackagingError(f"no recipe for artifact(s) {', '.join(sorted(missing))}")
    built = {name: materialise(name, recipe, build_dir, manifest, say) for name, recipe in todo.items()}
    built["project-template"] = materialise(
        "project-template", project_template_recipe(stack_name, built), build_dir, manifest, say
    )
    return {name: built[name] for name in ARTIFACT_NAMES}


def manifest_json(artifacts: Mapping[str, PackagedArtifact]) -> str:
    """What `battleshiper package --output json` prints."""
    return json.dumps(
        {name: {"key": a.key, "sha256": a.sha256, "path": str(a.path), "size": a.size}
         for name, a in artifacts.items()},
        indent=2,
        sort_keys=True,
    )
