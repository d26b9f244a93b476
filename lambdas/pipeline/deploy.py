"""Deploys a finished build (Batch job state change of a build job).

First version: logs the event it received and returns, until the Pipeline lands.
"""

from __future__ import annotations

from typing import Any

from lambdas.shared.log import log


def handler(event: dict[str, Any], context: Any) -> None:
    log("deploy: event received", context=context, source=event.get("source"),
        detail_type=event.get("detail-type"), event_id=event.get("id"))
