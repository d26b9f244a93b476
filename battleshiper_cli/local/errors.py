"""What keeps the local platform from starting, said in one line with its fix."""

from __future__ import annotations

import shutil
import socket


class LocalError(Exception):
    """Cannot start; the message says how to fix it (one line)."""


def check_port(port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no user
        try:
            s.bind(("127.0.0.1", port))
        except OSError as err:
            raise LocalError(
                f"port {port} is in use: stop what uses it or choose another with --port"
            ) from err


def check_node() -> None:
    if shutil.which("node") is None or shutil.which("git") is None:
        missing = "Node.js" if shutil.which("node") is None else "git"
        raise LocalError(f"{missing} is not installed: install it (Node.js 20 or newer, git) and run again")
