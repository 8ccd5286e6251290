"""Log lines as text for people or JSON for log pipelines (`GANSERVE_LOG_FORMAT`, `GANSERVE_LOG_LEVEL`).

    log_event(log, logging.INFO, "model loaded", model="gen", version="1", provider="CPUExecutionProvider")
    text: 2026-12-01T13:02:11.412Z INFO ganserve.registry model loaded model=gen version=1 provider=...
    json: {"ts": "2026-12-01T13:02:11.412Z", "level": "info", "logger": "ganserve.registry",
           "message": "model loaded", "pid": 4242, "model": "gen", "version": "1", "provider": "..."}

Structured fields travel in the record's `fields` attribute; a line written while a request is being served
also carries that request's `request_id`. `logging_config()` is the one configuration, used by `ganserve serve`
for its own loggers, uvicorn's and the root logger alike; uvicorn's access log stays off (the service writes
its own access line, see `service.access`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

from service.context import current

LogFormat = Literal["text", "json"]
LogLevel = Literal["critical", "error", "warning", "info", "debug"]
_BUILTIN = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def log_event(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """One structured line: a short fixed message (the event) and its fields."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a line (`fields`, else any `extra=` keys) and the current request's ID."""
    given = getattr(record, "fields", None)
    if given is not None:
        fields: dict[str, Any] = dict(given)
    else:  # a plain `extra=` from other code
        fields = {key: value for key, value in vars(record).items() if key not in _BUILTIN and key != "color_message"}
    if "request_id" not in fields:
        request = current()
        if request is not None:
            fields["request_id"] = request.request_id
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback (bugs only) goes in `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        line.update(fields_of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger message key=value ...`; values with spaces or quotes are JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{key}={_text(value)}" for key, value in fields_of(record).items() if value is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' "=\n\r\t'):
        return json.dumps(text)
    return text


def logging_config(log_format: LogFormat = "text", level: LogLevel = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (also what uvicorn's `log_config` takes)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "ganserve", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ganserve": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # ours replaces it
        },
    }
