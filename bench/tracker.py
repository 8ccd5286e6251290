"""CPU cost per request of the request tracker (service/access.py): IDs, access lines, spans.

    python -m bench.tracker

Runs the tracker around a trivial ASGI app in-process and reports process time per request (so the machine's
other load does not count), for: no tracker, the tracker without its access line, with a text or a JSON access
line (written to /dev/null through the service's own logging configuration), and with tracing (in-memory export).
"""

from __future__ import annotations

import asyncio
import logging.config
import time
from typing import Any

from service.access import RequestTracker
from service.logs import logging_config

SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/v1/models/gen/generate",
    "client": ("127.0.0.1", 5555),
    "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"x-request-id", b"abc-123")],
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    pass


def configure(log_format: str) -> None:
    config = logging_config(log_format, "info")  # type: ignore[arg-type]
    config["handlers"]["default"] = {"class": "logging.FileHandler", "filename": "/dev/null", "formatter": "ganserve"}
    logging.config.dictConfig(config)


async def per_request_us(asgi: Any, n: int) -> float:
    for _ in range(500):
        await asgi(dict(SCOPE), receive, send)
    started = time.process_time()
    for _ in range(n):
        await asgi(dict(SCOPE), receive, send)
    return (time.process_time() - started) / n * 1e6


async def main(rounds: int = 3, n: int = 20_000) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from service.tracing import Tracer

    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        configure("text")
        results.setdefault("bare app", []).append(await per_request_us(app, n))
        results.setdefault("tracker, no access line", []).append(
            await per_request_us(RequestTracker(app, access_log=False), n)
        )
        results.setdefault("tracker + text access line", []).append(await per_request_us(RequestTracker(app), n))
        configure("json")
        results.setdefault("tracker + JSON access line", []).append(await per_request_us(RequestTracker(app), n))
        tracer = Tracer(SimpleSpanProcessor(InMemorySpanExporter()))
        results.setdefault("tracker + JSON access line + spans", []).append(
            await per_request_us(RequestTracker(app, tracer=tracer), n // 4)
        )
    for name, values in results.items():
        print(
            f"{name:40s} {sorted(values)[len(values) // 2]:7.1f} us/request  (rounds: "
            f"{', '.join(f'{v:.1f}' for v in values)})"
        )


if __name__ == "__main__":
    asyncio.run(main())
