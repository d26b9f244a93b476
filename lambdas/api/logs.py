"""Reading log groups for the dashboard (projects' and, for administrators, the platform's).

`FilterLogEvents` over a bounded time window with its own pagination token: no billable Logs
Insights queries left running (reference defects 19, 49). Times are unix milliseconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lambdas.shared.api import ApiError, RequestModel

MAX_WINDOW_MS = 24 * 3600 * 1000
DEFAULT_WINDOW_MS = 3600 * 1000
# Lines Lambda writes around every invocation, hidden on request.
LAMBDA_NOISE = ("START RequestId", "END RequestId", "REPORT RequestId", "INIT_START")


class LogQuery(RequestModel):
    log_type: str = Field(max_length=32)
    start_time: int | None = Field(default=None, ge=0, le=2**53)
    end_time: int | None = Field(default=None, ge=0, le=2**53)
    limit: int = Field(default=50, ge=1, le=200)
    next_token: str | None = Field(default=None, min_length=1, max_length=2048)
    filter_lambda: bool = True


def fetch(logs: Any, group: str, query: LogQuery, now_ms: int) -> dict[str, Any]:
    end = query.end_time if query.end_time is not None else now_ms
    start = query.start_time if query.start_time is not None else end - DEFAULT_WINDOW_MS
    if start > end:
        raise ApiError(400, "invalid_window", "start_time must not be after end_time.")
    if end - start > MAX_WINDOW_MS:
        raise ApiError(400, "invalid_window", "The time window may span at most 24 hours.")
    kwargs: dict[str, Any] = {
        "logGroupName": group, "startTime": start, "endTime": end, "limit": query.limit, "interleaved": True
    }
    if query.next_token:
        kwargs["nextToken"] = query.next_token
    try:
        answer = logs.filter_log_events(**kwargs)
    except logs.exceptions.ResourceNotFoundException:
        return {"events": [], "next_token": None}  # nothing written yet (e.g. before the first build)
    except logs.exceptions.InvalidParameterException as err:
        raise ApiError(400, "invalid_request", "The log request is invalid (next_token?).") from err
    events = [
        {"timestamp": int(e["timestamp"]), "message": str(e.get("message", "")),
         "stream": str(e.get("logStreamName", ""))}
        for e in answer.get("events", [])
        if not (query.filter_lambda and str(e.get("message", "")).startswith(LAMBDA_NOISE))
    ]
    return {"events": events, "next_token": answer.get("nextToken")}
