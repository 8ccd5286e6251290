"""Log formatting (service.logs): JSON and text lines, structured fields, the current request's ID."""

from __future__ import annotations

import json
import logging
import sys

from service.context import RequestRecord, bind, unbind
from service.logs import JsonFormatter, TextFormatter, fields_of, logging_config


def record(message: str = "model loaded", exc: bool = False, **fields: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    line = logging.LogRecord("ganserve.registry", logging.INFO, __file__, 1, message, None, exc_info)
    line.fields = fields
    return line


def test_json_lines_carry_the_fields_and_parse() -> None:
    line = json.loads(JsonFormatter().format(record(model="gen", version="1", images=3, wait=None)))
    assert line["message"] == "model loaded" and line["level"] == "info" and line["logger"] == "ganserve.registry"
    assert (line["model"], line["version"], line["images"], line["wait"]) == ("gen", "1", 3, None)
    assert line["ts"].endswith("Z") and "T" in line["ts"]


def test_text_lines_quote_values_that_would_break_them() -> None:
    text = TextFormatter().format(record(path="/a b", reason='say "x"', n=2, empty="", skipped=None))
    assert text.split(" ", 3)[1:3] == ["INFO", "ganserve.registry"]
    assert text.endswith('model loaded path="/a b" reason="say \\"x\\"" n=2 empty=""')


def test_a_line_written_while_serving_a_request_carries_its_id() -> None:
    token = bind(RequestRecord("req-9", "GET", "/v1/models"))
    try:
        inside = fields_of(record())
    finally:
        unbind(token)
    assert inside == {"request_id": "req-9"} and fields_of(record()) == {}


def test_tracebacks_stay_inside_one_json_line() -> None:
    out = JsonFormatter().format(record(exc=True))
    assert "\n" not in out and "ValueError: boom" in json.loads(out)["exception"]


def test_the_config_routes_uvicorn_through_the_same_formatter_without_its_access_log() -> None:
    config = logging_config("json", "debug")
    assert config["formatters"]["ganserve"]["()"] == "service.logs.JsonFormatter"
    assert config["root"] == {"handlers": ["default"], "level": "DEBUG"}
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    assert logging_config()["formatters"]["ganserve"]["()"] == "service.logs.TextFormatter"
