"""Benchmark: deploying a build against moto in server mode (`ThreadedMotoServer` on 127.0.0.1).

    .venv/bin/python bench/deploy.py

A build of 2,000 client files and 300 prerendered pages is deployed by the deploy function's own code
(`deploy_event`). Printed: the deploy time; a bare parallel copy of the same files at the same
concurrency (the lower bound) and the ratio (target <= 1.5); route-store write requests (target <=
ceil(route keys / batch) + 2; a route key per file outside `_app/immutable/`); the per-file time at 500
and at 2,000 files (linear: ratio <= 1.2). Exits 1 when a target is missed. Memory: bench/deploy_memory.py.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.server import ThreadedMotoServer

from battleshiper_cli.local.routes import MemoryRouteStore
from lambdas.pipeline import deploy
from lambdas.pipeline.output import read_output
from lambdas.pipeline.upload import cache_control, content_type
from lambdas.shared import names, routes
from lambdas.shared.aws import Clients
from lambdas.shared.builds import trigger_build
from lambdas.shared.deps import Deps
from lambdas.shared.models import Limits, Project, ProjectStatus, Repository, Subscription, User
from lambdas.shared.names import Env
from lambdas.shared.store import Store
from tests.lambdas.pipeline.support import QUEUE_ARN, STACK, batch_event, output_archive
from tests.support.tables import create_tables

WORKERS = 32
PAGES = 300


class CountingRoutes(MemoryRouteStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, etag: str, puts: Any, deletes: Any) -> None:
        self.writes += 1
        super().write(etag, puts, deletes)


def client_files(count: int) -> dict[str, bytes]:
    files = {
        f"_app/immutable/chunks/c{i:05d}.{i:08x}.js": b"export const x=%d;" % i + b"/*" + b"x" * 2000 + b"*/"
        for i in range(count - 1)
    }
    files["favicon.png"] = b"\x89PNG" + b"\0" * 500
    return files


def pages(count: int) -> dict[str, bytes]:
    found = {"index.html": b"<h1>home</h1>"}
    found |= {f"docs/page-{i}.html": b"<h1>%d</h1>" % i + b"<p>" * 500 for i in range(count - 1)}
    return found


def world(endpoint: str, project: str) -> tuple[Deps, CountingRoutes]:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=WORKERS * 2)
    kw: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1", "config": config}
    s3 = boto3.client("s3", **kw)
    env = {
        Env.STACK: STACK,
        Env.BUILD_BUCKET: "build",
        Env.PROJECT_BUCKET: "project",
        Env.BUILD_QUEUE_ARN: QUEUE_ARN,
        Env.KEEP_DEPLOYMENTS: "5",
        Env.EVENT_BUS: names.Names(STACK).bus,
    }
    dynamodb = boto3.client("dynamodb", **kw)
    env |= create_tables(dynamodb, STACK)
    s3.create_bucket(Bucket="build")
    s3.create_bucket(Bucket="project")
    boto3.client("events", **kw).create_event_bus(Name=env[Env.EVENT_BUS])
    counting = CountingRoutes()
    deps = Deps(
        env,
        Clients(boto3.session.Session(region_name="us-east-1"), endpoint_url=endpoint),
        store=Store(boto3.resource("dynamodb", **kw), env),
        routes=counting,
        mint_installation_token=lambda i, r: "token",
        workers=WORKERS,
    )
    limits = Limits(client_storage=2**30, prerender_storage=2**30, prerender_routes=10000)
    deps.store.subscriptions.put(Subscription(id="big", name="Big", limits=limits))
    deps.store.users.put(User(id="1", login="bench", subscription_id="big", installation_id=1))
    deps.store.projects.put(
        Project(
            name=project,
            owner_id="1",
            status=ProjectStatus.READY,
            repository=Repository(id=1, full_name="o/r", installation_id=1),
        )
    )
    iam = boto3.client("iam", **kw)
    role = iam.create_role(RoleName="srv", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = names.Names(STACK).project_function(project)
    from tests.lambdas.pipeline.support import server_zip

    deps.lambda_.create_function(
        FunctionName=function,
        Runtime="nodejs22.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": server_zip()},
    )
    return deps, counting


def run(endpoint: str, project: str, files: int, page_count: int) -> dict[str, float]:
    # Every run starts from an empty moto, so no run pays for the objects of another.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    deps, counting = world(endpoint, project)
    archive = output_archive(client=client_files(files), pages=pages(page_count))
    project_record = deps.store.projects.get(name=project)
    assert project_record
    deployment = trigger_build(deps, project_record, triggered_by="bench").deployment_id
    deps.s3.put_object(Bucket="build", Key=names.build_output_key(project, deployment), Body=archive)

    started = time.perf_counter()
    deploy.deploy_event(deps, batch_event(project, deployment))
    deploy_seconds = time.perf_counter() - started
    assert counting.get(names.live_key(project)) == deployment, "deployment did not go live"

    # The lower bound: the same objects, the same concurrency, nothing else (read from memory).
    output = read_output(
        io.BytesIO(archive), Limits(client_storage=2**30, prerender_storage=2**30, prerender_routes=10000)
    )
    contents = {path: file.read_bytes() for path, file in output.files.items()}
    output.close()

    def put(item: tuple[str, bytes]) -> None:
        path, data = item
        deps.s3.put_object(
            Bucket="project",
            Key=f"copy-{project}/{path}",
            Body=data,
            ContentType=content_type(path),
            CacheControl=cache_control(path),
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(put, contents.items()))
    copy_seconds = time.perf_counter() - started
    route_keys = len(output.routes)  # every file outside _app/immutable/
    return {
        "deploy": deploy_seconds,
        "copy": copy_seconds,
        "writes": counting.writes,
        "bound": math.ceil(route_keys / routes.BATCH) + 2,
        "keys": route_keys + 1,  # and the live pointer
        "files": len(output.files),
    }


def main() -> int:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON log lines
            run(endpoint, "warmup", 50, 5)
            small = run(endpoint, "small", 500, PAGES * 500 // 2000)
            big = run(endpoint, "big", 2000, PAGES)
    finally:
        server.stop()
    ratio = big["deploy"] / big["copy"]
    per_big = big["deploy"] / (big["files"])
    per_small = small["deploy"] / (small["files"])
    linear = per_big / per_small
    print(f"deploy of {big['files']:.0f} files (2,000 client + {PAGES} pages): {big['deploy']:.2f} s")
    print(f"bare parallel copy, {WORKERS} workers:               {big['copy']:.2f} s")
    print(f"ratio (target <= 1.5):                             {ratio:.2f}")
    print(
        f"route-store write requests: {big['writes']:.0f} for {big['keys']:.0f} keys "
        f"(target <= {big['bound']:.0f})"
    )
    print(
        f"per file: {per_small * 1000:.2f} ms at 500 files, {per_big * 1000:.2f} ms at 2,000 "
        f"(ratio {linear:.2f}, target <= 1.2)"
    )
    ok = ratio <= 1.5 and big["writes"] <= big["bound"] and linear <= 1.2
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
