"""The dashboard locally: its server function (the adapter build `battleshiper package` ships) in
Node.js, its static and prerendered files from the same build, as the dashboard CDN serves them."""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battleshiper_cli import packaging
from battleshiper_cli.local.node import NodeInvoker, extract_handler
from lambdas.shared import names

Serve = Callable[[dict[str, Any], Any], dict[str, Any]]


def dashboard_server(folder: Path, origin_secret: str) -> tuple[Serve, Callable[[], None]]:
    """The handler and what stops it. The build is redone only when the dashboard's sources changed.
    The function knows the origin secret, as the template gives it (`Env.ORIGIN_SECRET`)."""
    build = packaging.build_dashboard(packaging.dashboard_inputs())
    invoker = NodeInvoker({"dashboard": extract_handler(build / names.BUILD_SERVER_ZIP, folder)},
                          env={names.Env.ORIGIN_SECRET: origin_secret})
    roots = [build / names.BUILD_CLIENT_DIR, build / names.BUILD_PRERENDERED_DIR]

    def serve(event: dict[str, Any], _ctx: Any) -> dict[str, Any]:
        path = event["rawPath"]
        for root in roots:
            for candidate in (
                root / path.lstrip("/"),
                root / (path.strip("/") + ".html"),
                root / path.lstrip("/") / "index.html",
            ):
                if ".." not in path and candidate.is_file():
                    return {
                        "statusCode": 200,
                        "isBase64Encoded": True,
                        "headers": {"content-type": _content_type(candidate)},
                        "body": base64.b64encode(candidate.read_bytes()).decode(),
                    }
        return dict(json.loads(invoker.invoke("dashboard", names.LIVE_ALIAS, json.dumps(event).encode())))

    return serve, invoker.close


def _content_type(file: Path) -> str:
    return mimetypes.guess_type(file.name)[0] or "application/octet-stream"
