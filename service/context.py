"""What one request did, collected as it goes: the record behind its access line and its trace.

    record = RequestRecord("3f2a...", "POST", "/v1/models/gen/generate", client="10.0.0.7:51234")
    token = bind(record)                  # the request's task (and threads started with asyncio.to_thread) see it
    ...                                   # the registry notes the model, the batcher notes queue/inference/encode
    unbind(token)

A contextvar carries the record, so the code in between needs no extra parameter. The batcher captures it when
a request's rows are queued and writes to it from its worker thread (plain attribute writes and list appends).
Times are `time.perf_counter()` seconds. Nothing here knows about HTTP, logging or OpenTelemetry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TypeVar

__all__ = ["RequestRecord", "bind", "current", "note_model", "staged", "unbind"]

T = TypeVar("T")

_current: ContextVar[RequestRecord | None] = ContextVar("ganserve_request", default=None)

QUEUE, INFERENCE, ENCODE = "queue", "inference", "encode"


class RequestRecord:
    """One request: who asked for what, and (name, start, end, batch size) of each stage it went through."""

    __slots__ = (
        "batch_size",
        "client",
        "images",
        "method",
        "model",
        "path",
        "request_id",
        "route",
        "stages",
        "started",
        "status",
        "version",
    )

    def __init__(
        self, request_id: str, method: str, path: str, client: str | None = None, started: float | None = None
    ) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.client = client
        self.started = time.perf_counter() if started is None else started
        self.route: str | None = None  # the matched template, e.g. /v1/models/{name}/generate
        self.model: str | None = None
        self.version: str | None = None
        self.status = 0
        self.stages: list[tuple[str, float, float, int]] = []  # (name, start, end, batch size or 0)
        self.batch_size = 0  # the largest batch any of its rows ran in
        self.images = 0  # rows produced for it

    def stage(self, name: str, start: float, end: float) -> None:
        self.stages.append((name, start, end, 0))

    def ran(self, start: float, end: float, batch_size: int, rows: int) -> None:
        """Its rows [`rows` of them] ran in a batch of `batch_size` from `start` to `end`."""
        self.stages.append((INFERENCE, start, end, batch_size))
        self.batch_size = max(self.batch_size, batch_size)
        self.images += rows

    def queue_wait(self) -> float | None:
        """The longest time any of its rows waited for a batch, or None if none was queued."""
        waits = [end - start for name, start, end, _ in self.stages if name == QUEUE]
        return max(waits) if waits else None


def current() -> RequestRecord | None:
    return _current.get()


def bind(record: RequestRecord) -> Token[RequestRecord | None]:
    return _current.set(record)


def unbind(token: Token[RequestRecord | None]) -> None:
    _current.reset(token)


def note_model(name: str, version: str) -> None:
    """The model version that serves the current request (called where names are resolved: the registry)."""
    record = _current.get()
    if record is not None:
        record.model, record.version = name, version


def staged(name: str, work: Callable[[], T]) -> Callable[[], T]:
    """`work`, noted as stage `name` of the current request when it runs (e.g. in `asyncio.to_thread`, which
    carries the request's context into the thread)."""

    def run() -> T:
        started = time.perf_counter()
        result = work()
        record = _current.get()
        if record is not None:
            record.stage(name, started, time.perf_counter())
        return result

    return run
