"""The documentation stays true to the tree: every reference defect the code cites has its row in
docs/DEFECTS.md (and every row is cited or marked documentation only), and every repository path the
docs name exists."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFECTS = ROOT / "docs" / "DEFECTS.md"
SOURCE_SUFFIXES = {".py", ".mjs", ".js", ".ts", ".svelte"}
SKIPPED_DIRS = {"node_modules", ".venv", ".git", ".svelte-kit", "build", "dist", "__pycache__",
                ".battleshiper", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
DOC_ONLY = "documentation only"

# "defect 7", "defects 2, 42", "defects 80 and 81", a citation wrapped onto the next comment line.
CITATION = re.compile(r"\bdefects?[\s#/*]+(\d+(?:[\s#/*]*(?:,|and|&)[\s#/*]*\d+)*)", re.IGNORECASE)
ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*)\|\s*$")


def source_files() -> Iterator[Path]:
    """Every source file of the project (this checker aside), without dependencies or build output."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            path = Path(folder, name)
            if path.suffix in SOURCE_SUFFIXES and path != Path(__file__).resolve():
                yield path


def cited() -> dict[int, set[str]]:
    """Defect number -> the files citing it."""
    found: dict[int, set[str]] = {}
    for path in source_files():
        for hit in CITATION.finditer(path.read_text(errors="replace")):
            for number in re.findall(r"\d+", hit.group(1)):
                found.setdefault(int(number), set()).add(str(path.relative_to(ROOT)))
    return found


def rows() -> dict[int, str]:
    """Defect number -> the rest of its row in docs/DEFECTS.md."""
    found: dict[int, str] = {}
    for line in DEFECTS.read_text().splitlines():
        row = ROW.match(line)
        if row:
            number = int(row.group(1))
            assert number not in found, f"docs/DEFECTS.md has two rows for defect {number}"
            found[number] = row.group(2)
    return found


def test_the_code_cites_reference_defects() -> None:
    # The scan itself works: these are cited in well-known places.
    citations = cited()
    assert "lambdas/shared/sessions.py" in citations[7]
    assert "web/adapter/files/lambda.js" in citations[79]
    assert "lambdas/shared/releases.py" in citations[28]  # wrapped across two comment lines


def test_every_cited_defect_has_a_row() -> None:
    missing = {n: sorted(files) for n, files in cited().items() if n not in rows()}
    assert not missing, f"defects cited in the code without a row in docs/DEFECTS.md: {missing}"


def test_every_row_is_cited_or_marked_documentation_only() -> None:
    citations = cited()
    stale = [n for n, text in rows().items() if n not in citations and DOC_ONLY not in text]
    assert not stale, f"docs/DEFECTS.md rows no code cites (cite them, or say '{DOC_ONLY}'): {stale}"


def test_each_row_names_the_files_that_cite_it() -> None:
    citations = cited()
    for number, text in rows().items():
        named = set(re.findall(r"`([^`]+)`", text.rsplit("|", 1)[-1]))
        unnamed = citations.get(number, set()) - named
        assert not unnamed, f"defect {number}: its row does not name {sorted(unnamed)}"


# --- paths the docs name ---------------------------------------------------------------------------

TOP_LEVEL = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("."))
# Written by a build or a test run, so absent from a fresh checkout.
GENERATED = ("web/dashboard/build", "web/dashboard/test-results/")
PATH = re.compile(
    r"(?<![\w./<>-])((?:" + "|".join(map(re.escape, TOP_LEVEL)) + r")/[\w./+@-]*[\w/])"
)
LINK = re.compile(r"\]\(([^)#\s]+)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def named_paths(doc: Path) -> Iterator[tuple[int, str, Path]]:
    """(line, as written, where it points) for every repository path and relative link in `doc`."""
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        for hit in PATH.finditer(line):
            written = hit.group(1).split("::")[0]
            yield number, written, ROOT / written
        for hit in LINK.finditer(line):
            target = hit.group(1)
            if not re.match(r"[a-z]+:", target):
                yield number, target, doc.parent / target


def test_every_repository_path_in_the_docs_exists() -> None:
    missing = [
        f"{doc.relative_to(ROOT)}:{number}: {written}"
        for doc in documents()
        for number, written, target in named_paths(doc)
        if not written.startswith(GENERATED) and not target.exists()
    ]
    assert not missing, "the docs name paths that do not exist:\n" + "\n".join(missing)


def test_the_path_scan_sees_paths() -> None:
    seen = {written for doc in documents() for _, written, _ in named_paths(doc)}
    assert "battleshiper_cli/local/" in seen or any(p.startswith("battleshiper_cli/") for p in seen)
    assert any(p.startswith("lambdas/") for p in seen)
