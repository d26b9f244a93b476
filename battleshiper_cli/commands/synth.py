"""`battleshiper synth`: the platform template as JSON, no AWS needed."""

from __future__ import annotations

from pathlib import Path

import typer

from battleshiper_cli.context import Context
from battleshiper_cli.main import app, guarded
from battleshiper_cli.output import console
from battleshiper_cli.packaging import DEFAULT_BUILD_DIR, package_all
from battleshiper_cli.synthesis import platform_template_json


@app.command()
@guarded
def synth(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", help="Write the template to this file instead of stdout."),
    build_dir: Path | None = typer.Option(None, "--build-dir",
                                          help="Packaging output to take artifact hashes from "
                                               "(default: package now, reusing .battleshiper/build)."),
) -> None:
    """Print the platform's CloudFormation template (JSON). Needs no AWS access."""
    c: Context = ctx.obj
    artifacts = package_all(c.stack_name, build_dir or DEFAULT_BUILD_DIR)  # cheap when warm: reused
    body = platform_template_json(c.stack_name, artifacts)
    if out:
        out.write_text(body)
        console.print(f"wrote {out} ({len(body)} bytes)")
    else:
        print(body)
