"""How Lambda wires a function: the module's `handler` builds the function's objects on the first event,
from the environment the template gives it and the client factory, and keeps them for the container's
life. The local platform and the tests call the same `create` with their own factory; nothing else
differs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.shared.aws import Clients

Handler = Callable[[dict[str, Any], Any], Any]
Create = Callable[[Mapping[str, str], Clients], Handler]


def lambda_handler(create: Create) -> Handler:
    built: list[Handler] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> Any:
        if not built:
            with lock:
                if not built:
                    built.append(create(os.environ, Clients.from_environment()))
        return built[0](event, context)

    return handler
