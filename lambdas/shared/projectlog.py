"""A project's pipeline log (event and deploy log groups of its stack): what users read in the dashboard.

Each run writes its own stream `YYYY/MM/DD/<execution>/<run>`, so a retry of the same execution never
fails on an existing stream (reference defect 40). Lines are buffered and sent in one request by
`flush`; logging problems are reported on the function's own log and never fail the pipeline.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import Any

from lambdas.shared.log import log


class ProjectLog:
    def __init__(self, logs: Any, group: str, execution: str) -> None:
        self.logs = logs
        self.group = group
        day = time.strftime("%Y/%m/%d", time.gmtime())
        self.stream = f"{day}/{execution}/{secrets.token_hex(4)}"
        self.events: list[dict[str, Any]] = []

    def line(self, message: str, **fields: Any) -> None:
        log(message, log_group=self.group, **fields)  # the platform log keeps a copy
        self.events.append({"timestamp": int(time.time() * 1000), "message": message})

    def flush(self) -> None:
        if not self.events:
            return
        events, self.events = self.events, []
        try:
            with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
                self.logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
            self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events)
        except Exception as err:  # the project log is for people; the pipeline goes on without it
            log("project log not written", level="WARNING", log_group=self.group, error=repr(err))
