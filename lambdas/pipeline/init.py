"""Creates a project's stack when a project is created (event `battleshiper.init`).

First version: logs the event it received and returns, until the Pipeline lands.
"""

from __future__ import annotations

from typing import Any

from lambdas.shared.log import log


def handler(event: dict[str, Any], context: Any) -> None:
    log("init: event received", context=context, source=event.get("source"),
        detail_type=event.get("detail-type"), event_id=event.get("id"))
