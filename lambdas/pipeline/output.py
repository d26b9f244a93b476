"""Reading and checking a build's output (`output.tar.gz`, packed by the build runner) before anything of
it is deployed.

Layout: `client/**` (static files), `prerendered/**` (pages; non-HTML outputs such as `__data.json` or
`sitemap.xml` are served as static files, reference defect 86), `server/handler.zip` (the server
function), and nothing else (`server/index.js(.map)` from the adapter are tolerated and ignored).
Refused: absolute paths, `..`, links, devices and other non-regular members, files outside the layout,
more files than allowed, and archives that expand past the subscription's quotas (checked while
reading, so a zip bomb is stopped after at most the quota, not after expanding), and two files served
at the same path (`route_paths`).

The output is never held in memory: each member is checked from its header, then copied in chunks to
a work folder on disk (Lambda's ephemeral storage, sized in the template for the quotas), where the
upload and the function update read it (docs/PIPELINE.md, *Streaming*).
"""

from __future__ import annotations

import errno
import gzip
import io
import posixpath
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lambdas.pipeline.route_paths import page_path, route_paths
from lambdas.shared import names
from lambdas.shared.models import Limits

# Each static file is one object and one upload: bound the count independent of the byte quotas.
MAX_FILES = 20000
MAX_PATH = 512
# Tar adds a 512-byte header per member and pads data to 512 bytes, plus end-of-archive blocks.
TAR_OVERHEAD_PER_FILE = 1024
# Lambda's limit for unzipped code.
MAX_SERVER_UNZIPPED = 250 * 2**20
SERVER_ENTRIES = ("index.mjs", "index.js")
# The adapter's manifest (`names.BUILD_MANIFEST_FILE`) repeats what the prerendered files say; pages are
# derived from those, so the manifest is not needed here (found by the local platform's end-to-end run).
IGNORED = ("server/index.js", "server/index.js.map", names.BUILD_MANIFEST_FILE)
CHUNK = 2**20  # the most of one file in memory at a time
# Work folders in the ephemeral storage; one left by a crashed invocation is removed by the next deploy.
WORK_PREFIX = "battleshiper-deploy-"


class OutputRejected(Exception):
    """The build output breaks a rule; the message says which, for the user."""


@dataclass
class BuildOutput:
    root: Path  # the work folder the files were extracted to, one numbered file each
    files: dict[str, Path] = field(default_factory=dict)  # path under the deployment prefix -> its file
    pages: dict[str, str] = field(default_factory=dict)  # page path (`/`, `/about`) -> object path
    routes: dict[str, str] = field(default_factory=dict)  # route path -> object path (`route_paths`)
    server_path: Path | None = None
    server_bytes: int = 0
    client_bytes: int = 0
    prerender_bytes: int = 0
    owns_root: bool = False  # `read_output` made the folder, so `close` removes it

    @property
    def server(self) -> bytes:
        """The server function's zip (at most the server quota, read when it is needed)."""
        return self.server_path.read_bytes() if self.server_path else b""

    def close(self) -> None:
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


class _Counting(io.RawIOBase):
    """Counts and limits the bytes gzip expands to (the archive's real size)."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        self.total += len(data)
        if self.total > self.limit:
            raise OutputRejected("the build output expands past its size quota")
        buffer[: len(data)] = data
        return len(data)


def _clean(name: str) -> str:
    if name.startswith("./"):
        name = name[2:]
    if name in ("", "."):
        return ""
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise OutputRejected(f"absolute or malformed path in the build output: {name[:100]!r}")
    parts = name.rstrip("/").split("/")
    if any(part in ("..", "") for part in parts) or posixpath.normpath(name).startswith(".."):
        raise OutputRejected(f"path leaves the output directory: {name[:100]!r}")
    if len(name) > MAX_PATH:
        raise OutputRejected(f"path too long: {name[:100]!r}")
    try:
        name.encode()  # object keys and route keys are UTF-8
    except UnicodeEncodeError:
        raise OutputRejected(f"path is not UTF-8: {name[:100]!r}") from None
    return name.rstrip("/")


def check_server(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as err:
        raise OutputRejected("server/handler.zip is not a zip archive") from err
    if sum(i.file_size for i in infos) > MAX_SERVER_UNZIPPED:
        raise OutputRejected("server/handler.zip expands past the function size limit")
    names_ = {i.filename for i in infos}
    if not any(entry in names_ for entry in SERVER_ENTRIES):
        raise OutputRejected("server/handler.zip has no index.mjs (the function's entry point)")
    if names.RUNTIME_CONFIG_FILE in names_:
        raise OutputRejected(f"server/handler.zip holds {names.RUNTIME_CONFIG_FILE}, which only the platform "
                             "writes (the project's runtime variables)")
    for info in infos:
        _clean(info.filename)


def _extract(source: IO[bytes], target: Path) -> int:
    """Copy one member to disk in chunks; the bytes written."""
    try:
        with target.open("xb") as out:
            shutil.copyfileobj(source, out, CHUNK)
            return out.tell()
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise OutputRejected("the build output does not fit in the deploy function's storage") from err
        # Not the archive's fault: raised as something else, so the deploy is retried.
        raise RuntimeError(f"could not write the build output to disk: {err}") from err


def read_output(
    stream: IO[bytes], limits: Limits, max_files: int = MAX_FILES, directory: Path | None = None
) -> BuildOutput:
    """Read and check a gzipped tar stream, extracting it to `directory` (a new temporary folder, removed
    by `close`, when none is given); raises `OutputRejected`, having removed a folder it made."""
    root = directory or Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    output = BuildOutput(root=root, owns_root=directory is None)
    try:
        _read(stream, limits, max_files, output)
    except BaseException:
        output.close()
        raise
    return output


def _read(stream: IO[bytes], limits: Limits, max_files: int, output: BuildOutput) -> None:
    budget = limits.client_storage + limits.prerender_storage + limits.server_storage
    expanded = gzip.GzipFile(fileobj=stream, mode="rb")
    counting = _Counting(expanded, budget + TAR_OVERHEAD_PER_FILE * (max_files + 8))  # type: ignore[arg-type]
    members: list[str] = []
    count = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(counting, CHUNK), mode="r|") as archive:
            for member in archive:
                name = _clean(member.name)
                if member.isdir() or not name:
                    continue
                if not member.isreg():
                    raise OutputRejected(f"links and special files are not allowed: {name[:100]!r}")
                count += 1
                if count > max_files:
                    raise OutputRejected(f"the build output has more than {max_files} files")
                kind, _, relative = name.partition("/")
                if kind == "client" and relative:
                    output.client_bytes += member.size
                    if output.client_bytes > limits.client_storage:
                        raise OutputRejected(
                            f"client files exceed the quota of {limits.client_storage} bytes"
                        )
                elif kind == "prerendered" and relative:
                    output.prerender_bytes += member.size
                    if output.prerender_bytes > limits.prerender_storage:
                        raise OutputRejected(
                            f"prerendered pages exceed the quota of {limits.prerender_storage} bytes"
                        )
                elif name == "server/handler.zip":
                    if member.size > limits.server_storage:
                        raise OutputRejected(
                            f"server/handler.zip exceeds the quota of {limits.server_storage} bytes"
                        )
                elif name in IGNORED:
                    continue
                else:
                    raise OutputRejected(f"file outside client/, prerendered/ and server/: {name[:100]!r}")
                if name != "server/handler.zip" and relative in output.files:
                    raise OutputRejected(f"{relative[:100]!r} is both a client file and a prerendered file")
                extracted = archive.extractfile(member)
                # Numbered, not named: an object key may hold what a file name may not (a component
                # over 255 bytes, `a` beside `a/b`).
                target = output.root / f"{count:06d}"
                written = _extract(extracted, target) if extracted else 0
                if written != member.size:
                    raise OutputRejected(f"truncated file in the build output: {name[:100]!r}")
                if name == "server/handler.zip":
                    output.server_path, output.server_bytes = target, written
                    continue
                members.append(name)
                output.files[relative] = target
                if kind == "prerendered" and relative.endswith(".html"):
                    output.pages[page_path(relative)] = "/" + relative
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise OutputRejected("the build output is not a valid tar.gz archive") from err
    except OSError as err:  # gzip's "not a gzipped file" and the like; a full disk is said above
        raise OutputRejected("the build output is not a valid tar.gz archive") from err
    if output.server_path is None:
        raise OutputRejected("the build output has no server/handler.zip")
    if len(output.pages) > limits.prerender_routes:
        raise OutputRejected(f"more than {limits.prerender_routes} prerendered pages")
    try:
        output.routes = route_paths(members)
    except ValueError as err:
        raise OutputRejected(str(err)) from None
    check_server(output.server_path, limits)
