"""Benchmark: a no-op `battleshiper update` right after `setup` must upload nothing and start no
stack update. Runs against moto (S3, STS, ACM, Secrets Manager) and the scripted CloudFormation
fake of the CLI tests.

    .venv/bin/python bench/noop_update.py            # small stand-in artifacts (seconds)
    .venv/bin/python bench/noop_update.py --package  # the real packaging (builds the layer once)

Prints the bytes uploaded and the stack updates started by the update (both must be 0) and the
update's wall time; exits 1 if either count is not 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battleshiper_cli import install
from battleshiper_cli.main import app
from battleshiper_cli.packaging import package_all
from tests.cli.fakes import aws_world, setup_args
from tests.cli.runner import Runner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="store_true", help="use the real packaging instead of stand-ins")
    args = parser.parse_args()
    runner = Runner()  # the tests' client factory, so the scripted CloudFormation fake answers
    monkeypatch = pytest.MonkeyPatch()
    with tempfile.TemporaryDirectory() as tmp, aws_world(monkeypatch, Path(tmp)) as world:
        if args.package:
            monkeypatch.setattr(install, "package_all", package_all)
        setup = runner.invoke(app, setup_args())
        if setup.exit_code != 0:
            print(setup.output, file=sys.stderr)
            return 2
        world.cfn.calls.clear()
        started = time.perf_counter()
        update = runner.invoke(app, ["--region", "eu-west-1", "--yes", "--output", "json", "update"])
        elapsed = time.perf_counter() - started
        if update.exit_code != 0:
            print(update.output, file=sys.stderr)
            return 2
        result = json.loads(update.stdout)
        stack_updates = world.cfn.count("ExecuteChangeSet") + world.cfn.count("UpdateStack")
    monkeypatch.undo()
    print(f"bytes uploaded:        {result['uploaded_bytes']}")
    print(f"stack updates started: {stack_updates}")
    print(f"update status:         {result['status']}")
    print(f"update wall time:      {elapsed:.2f} s")
    return 0 if result["uploaded_bytes"] == 0 and stack_updates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
