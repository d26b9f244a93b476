"""Hostile build outputs are refused with their reason, before anything is uploaded."""

from __future__ import annotations

import errno
import gzip
import io
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from lambdas.pipeline import deploy
from lambdas.pipeline.output import OutputRejected, read_output
from lambdas.shared import names
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import DeploymentStatus, Limits
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import (
    BUILD_BUCKET,
    PROJECT_BUCKET,
    batch_event,
    output_archive,
    server_zip,
)


def member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, (size if kind == tarfile.REGTYPE else 0), link
    return info


def zip_bomb() -> bytes:
    """A tar.gz whose one client file claims little room compressed and expands to 64 MiB."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("./client/zeros.bin")
        info.size = 64 * 2**20
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    return gzip.compress(raw.getvalue())


HOSTILE = {
    "traversal": (output_archive(extra=[member("./client/../../etc/passwd")]), "leaves the output directory"),
    "absolute": (output_archive(extra=[member("/client/x.js")]), "absolute"),
    "symlink": (
        output_archive(extra=[member("./client/link", tarfile.SYMTYPE, link="/etc/passwd")]),
        "links",
    ),
    "hardlink": (
        output_archive(extra=[member("./client/hard", tarfile.LNKTYPE, link="client/favicon.png")]),
        "links",
    ),
    "device": (output_archive(extra=[member("./client/dev", tarfile.CHRTYPE)]), "special files"),
    "outside the layout": (output_archive(extra=[member("./secrets.env")]), "outside"),
    "oversize": (output_archive(client={"big.bin": b"x" * 5000}), "client files exceed"),
    "too many files": (output_archive(client={f"f{i}.txt": b"1" for i in range(30)}), "more than 20 files"),
    "too many pages": (output_archive(pages={f"p{i}.html": b"<p>" for i in range(6)}), "prerendered pages"),
    "zip bomb": (zip_bomb(), "quota"),
    "no server": (output_archive(server=False), "no server/handler.zip"),  # type: ignore[arg-type]
    "server not a zip": (output_archive(server=b"not a zip"), "not a zip"),
    "not an archive": (b"hello", "not a valid tar.gz"),
}
LIMITS = Limits(client_storage=4096, prerender_storage=4096, server_storage=4096, prerender_routes=5)


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_outputs_are_refused(case: str) -> None:
    archive, reason = HOSTILE[case]
    with pytest.raises(OutputRejected, match=reason):
        read_output(io.BytesIO(archive), LIMITS, max_files=20)


def test_a_good_output_is_read_with_its_pages() -> None:
    output = read_output(
        io.BytesIO(
            output_archive(
                pages={
                    "index.html": b"1",
                    "blog/index.html": b"2",
                    "about.html": b"3",
                    "blog/__data.json": b"{}",
                }
            )
        ),
        LIMITS,
    )
    assert output.pages == {"/": "/index.html", "/blog": "/blog/index.html", "/about": "/about.html"}
    assert "blog/__data.json" in output.files  # served as a static file (reference defect 86)
    assert output.server == server_zip()
    output.close()


def test_a_rejected_output_is_recorded_with_its_reason_and_not_retried(world: World) -> None:
    deps = world.deps
    world.add_project()
    project = deps.store.projects.get(name="shop")
    assert project
    d = trigger_build(world.api, project, triggered_by="101").deployment_id
    deps.s3.put_object(
        Bucket=BUILD_BUCKET,
        Key=names.build_output_key("shop", d),
        Body=output_archive(extra=[member("./client/../../x")]),
    )
    assert deploy.deploy_event(world.deploy, batch_event("shop", d)) is None  # no exception: nothing to retry
    record = deps.store.deployments.get(project_name="shop", deployment_id=d)
    project = deps.store.projects.get(name="shop")
    assert (
        record and record.status == DeploymentStatus.FAILED and "leaves the output directory" in record.reason
    )
    assert project and "leaves the output directory" in project.status_reason and project.lock is None
    assert any("leaves the output directory" in line for line in world.log_lines("shop", "deploy"))
    assert deps.s3.list_objects_v2(Bucket=PROJECT_BUCKET).get("KeyCount") == 0


def test_two_files_served_at_one_path_are_refused() -> None:
    archive = output_archive(pages={"about.html": b"1", "about/index.html": b"2"})
    with pytest.raises(OutputRejected, match="both served at '/about'"):
        read_output(io.BytesIO(archive), LIMITS)


def test_the_output_is_extracted_to_disk_and_its_folder_removed_on_close_or_rejection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    long_name = "a" * 300 + ".txt"  # longer than a file name may be; an object key may
    output = read_output(
        io.BytesIO(output_archive(client={"a": b"file", "a/b": b"beside", long_name: b"long"})), LIMITS
    )
    assert output.files["a"].read_bytes() == b"file" and output.files["a/b"].read_bytes() == b"beside"
    assert output.files[long_name].read_bytes() == b"long" and output.root.parent == tmp_path
    output.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputRejected):
        read_output(io.BytesIO(output_archive(extra=[member("./client/../../x")])), LIMITS)
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_does_not_fit_on_disk_is_refused_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    with pytest.raises(OutputRejected, match="does not fit in the deploy function's storage"):
        read_output(io.BytesIO(output_archive()), LIMITS)
