"""Structured logs: one JSON line per record, carrying the invocation's request id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType

import pytest

from lambdas.pipeline import delete, deploy, init
from lambdas.shared.log import log


@dataclass
class LambdaContext:
    aws_request_id: str = "req-123"


def test_log_writes_one_json_line_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    log("hello", context=LambdaContext(), project="demo", count=2)
    line = capsys.readouterr().out
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert record | {"time": None} == {"time": None, "level": "INFO", "message": "hello",
                                       "request_id": "req-123", "project": "demo", "count": 2}


@pytest.mark.parametrize(("module", "detail_type"), [(init, "battleshiper.init"),
                                                     (deploy, "Batch Job State Change"),
                                                     (delete, "battleshiper.delete")])
def test_pipeline_handlers_log_the_event_type(module: ModuleType, detail_type: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    event = {"id": "e-1", "source": "battleshiper.pipeline", "detail-type": detail_type, "detail": {}}
    module.handler(event, LambdaContext())
    record = json.loads(capsys.readouterr().out)
    assert record["detail_type"] == detail_type
    assert (record["request_id"], record["event_id"]) == ("req-123", "e-1")
