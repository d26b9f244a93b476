"""Benchmark: the deploy's peak memory for a big build output.

    .venv/bin/python bench/deploy_memory.py [--mib 1024]

A build output that expands to 1 GB (client files of 1 MiB, compressible so the archive packs fast,
a page and the server zip) is deployed by the deploy function's own code (`deploy_event`) in a child
process, against moto in server mode in this process (so moto's copies of the objects count here, not
there). Printed: the output's size, the child's resident memory once set up and its peak during the
deploy (VmHWM, reset after set-up; `ru_maxrss` where there is none), the deploy's own share, and
whether the work folder was removed. Target: the deploy adds at most 200 MB whatever the output's size
(the function has 1,024 MB; an output held in memory would add its whole size). Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lambdas.pipeline.output import WORK_PREFIX
from lambdas.shared import names
from lambdas.shared.builds import trigger_build
from lambdas.shared.models import Limits, Subscription
from tests.lambdas.pipeline.support import batch_event, server_zip

FILE_BYTES = 2**20
TARGET_BYTES = 200 * 2**20


class Repeating(io.RawIOBase):
    """`size` bytes of one line repeated: cheap to make and to compress, as big as any file on disk."""

    def __init__(self, size: int, seed: int) -> None:
        self.left = size
        self.line = (f"{seed:08x}" * 8 + "\n").encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        data = (self.line * (n // len(self.line) + 1))[:n]
        buffer[:n] = data
        self.left -= n
        return n


def pack(path: Path, total: int) -> int:
    """Write the archive the runner would upload; returns the expanded size of its files."""
    size = 0
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for i in range(total // FILE_BYTES):
            info = tarfile.TarInfo(f"./client/_app/immutable/blob-{i:05d}.bin" if i else "./client/big.bin")
            info.size = FILE_BYTES
            archive.addfile(info, Repeating(FILE_BYTES, i))
            size += info.size
        small = {"prerendered/index.html": b"<h1>home</h1>", "server/handler.zip": server_zip()}
        for name, data in small.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            size += info.size
    return size


def peak_rss() -> int:
    """The process's peak resident memory: VmHWM (Linux, resettable), else `ru_maxrss`."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def reset_peak() -> int:
    """Start the peak over from the current resident memory (Linux: `clear_refs` 5), so the imports'
    peak does not hide the deploy's; returns the new baseline."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return peak_rss()


def child(endpoint: str, project: str, deployment: str, env: dict[str, str]) -> None:
    """The deploy, alone in this process: its Deps as in `bench/deploy.py`, nothing else."""
    import boto3
    from botocore.config import Config

    from battleshiper_cli.local.routes import MemoryRouteStore
    from lambdas.pipeline import deploy
    from lambdas.shared.aws import Clients
    from lambdas.shared.deps import Deps
    from lambdas.shared.store import Store

    config = Config(retries={"max_attempts": 1}, max_pool_connections=64)
    kw: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1", "config": config}
    deps = Deps(
        env,
        Clients(boto3.session.Session(region_name="us-east-1"), endpoint_url=endpoint),
        store=Store(boto3.resource("dynamodb", **kw), env),
        routes=MemoryRouteStore(),
        mint_installation_token=lambda i, r: "token",
        workers=32,
    )
    deps.s3, deps.lambda_, deps.logs  # noqa: B018 - the clients made before the baseline
    before = reset_peak()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the function's JSON log lines
        result = deploy.deploy_event(deps, batch_event(project, deployment))
    seconds = time.perf_counter() - started
    leftovers = list(Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}*"))
    print(json.dumps({
        "before": before, "after": peak_rss(), "seconds": seconds,
        "status": result.status.value if result else None, "leftovers": len(leftovers),
    }))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024, help="expanded size of the build output")
    parser.add_argument("--child", nargs=3, metavar=("ENDPOINT", "PROJECT", "DEPLOYMENT"))
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    if args.child:
        child(*args.child, json.loads(sys.stdin.read()))
        return 0

    from deploy import world  # bench/deploy.py: the same moto world
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    project = "big"
    try:
        with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
            deps, _ = world(endpoint, project)
            limits = Limits(client_storage=64 * 2**30, prerender_storage=2**30, prerender_routes=10000)
            deps.store.subscriptions.put(Subscription(id="big", name="Big", limits=limits))
            record = deps.store.projects.get(name=project)
            assert record
            deployment = trigger_build(deps, record, triggered_by="bench").deployment_id
            archive = Path(scratch) / "output.tar.gz"
            expanded = pack(archive, args.mib * 2**20)
            deps.s3.upload_file(str(archive), "build", names.build_output_key(project, deployment))
            packed = archive.stat().st_size
            work = Path(scratch) / "tmp"  # the child's /tmp, so only its own work folders count
            work.mkdir()
            done = subprocess.run(
                [sys.executable, __file__, "--child", endpoint, project, deployment],
                input=json.dumps(deps.env), capture_output=True, text=True, check=False,
                env={**os.environ, "TMPDIR": str(work)},
            )
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return 1
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    added = figures["after"] - figures["before"]
    mib = 2**20
    print(f"build output: {expanded / mib:.0f} MiB expanded ({packed / mib:.1f} MiB packed), "
          f"deployed in {figures['seconds']:.1f} s, status {figures['status']}")
    print(f"deploy process peak RSS: {figures['before'] / mib:.0f} MiB set up, "
          f"{figures['after'] / mib:.0f} MiB after the deploy")
    print(f"added by the deploy: {added / mib:.0f} MiB (target <= {TARGET_BYTES / mib:.0f} MiB)")
    print(f"work folders left in the temp dir: {figures['leftovers']}")
    ok = added <= TARGET_BYTES and figures["status"] == "LIVE" and figures["leftovers"] == 0
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
