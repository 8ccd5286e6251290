"""Request/response plumbing shared by the routes: bounded body reading, JSON bodies validated by pydantic,
and dropping a request's queued work when its client disconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from service.errors import Cancelled, InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from service.state import get_service

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) anything over `limit` bytes without buffering it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect:
        _count_cancelled(request)
        raise Cancelled(f"the client disconnected after sending {size} bytes of the body") from None
    body = b"".join(chunks)
    request._body = body  # let request.form() re-read what was streamed
    return body


def _count_cancelled(request: Request) -> None:
    """A client gone mid-body is an ordinary event: counted as `cancelled` for a served model, like a client that
    leaves while its items are queued (the batcher counts those)."""
    name = request.path_params.get("name")
    metrics = get_service(request).model_metrics(name) if isinstance(name, str) else None
    if metrics is not None:
        metrics.rejected("cancelled")


def validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_json(body: bytes, schema: type[M]) -> M:
    """Validate a JSON body: 400 when it is not JSON, 422 (with the field and reason) when a value is wrong."""
    try:
        return schema.model_validate_json(body or b"{}")
    except ValidationError as e:
        if any(item["type"] == "json_invalid" for item in e.errors()):
            raise MalformedRequest(f"the body is not valid JSON: {e.errors()[0]['msg']}") from None
        raise InvalidRequest(validation_message(e)) from None


def is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype in ("", "application/json") or ctype.endswith("+json")


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body of a JSON request (415 for another content type), for callers that parse it off the loop."""
    if not is_json(request):
        raise UnsupportedMediaType(f"send the body as application/json (got {request.headers['content-type']!r})")
    return await read_body(request, limit)


async def read_json(request: Request, schema: type[M], limit: int) -> M:
    """A small JSON body, validated on the event loop (bodies of a few KiB: cheaper than a thread hop)."""
    return parse_json(await read_json_body(request, limit), schema)


WATCH_AFTER_S = 0.002  # requests answered sooner never pay for a disconnect watcher (~0.15 ms each)


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`; if the client disconnects first, cancel it (its unstarted items are dropped) and raise Cancelled.

    Once the body has been read, the next ASGI `receive()` only returns when the client goes away. The watcher
    starts only once the work has taken WATCH_AFTER_S: by then its items are queued behind other work, which is
    when dropping them matters; a lone request on an idle model runs at once and would gain nothing.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False
    watcher: asyncio.Future[None] | None = None

    async def watch() -> None:
        nonlocal gone
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone = True
            task.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, start_watching)
    try:
        return await work
    except asyncio.CancelledError:
        if gone and task.uncancel() == 0:
            raise Cancelled("the client disconnected") from None
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()
