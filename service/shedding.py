"""Early refusal: answer a request for a model whose queue is full before routing, body parsing and middleware.

Under a storm of clients that resend at once after a refusal, each refusal taking the whole FastAPI path (routing,
the API-key dependency, the body, the error) costs the event loop ~0.4 ms, and the refusals starve the accepted
work. This pure ASGI layer sits outside all of that: it reads the model from the path (`service/paths.py`), asks its
batcher whether the queue is full (a full queue fits no request, whatever its size) and, if so, answers as the
regular path would (the same JSON body, status, `Retry-After` and metrics: rendered by the one errors-to-HTTP
mapping, `service.http_errors`, and kept per Retry-After value) without reading the body.

It steps aside (the regular path decides) whenever the answer could differ from the regular path's:

- the queue has any room (requests that fit are never refused here), or the service is draining (`RequestGate`);
- an API key is configured and the request does not carry it: refusing first would tell a stranger that the
  model exists and is busy, so strangers get the regular 401 (the key check is a header look-up, ~1 us);
- a method the endpoint does not serve (405), or an `If-None-Match` revalidation (may be a 304 with no work);
- v1 paths whose version is chosen in the body or query: refused here only when every version's queue is full.

A request whose body is invalid is refused here (503/429) instead of getting its 422 while the queue is full.
It is the outermost layer, outside `RequestTracker` (service/access.py) too: it echoes the client's safe
`X-Request-ID` or makes one, but writes no access line per refusal (~60 us each, four times the refusal); refusals
are counted in the metrics, and logged as one summary line per model at most every 10 s. Under `ganserve serve`
the HTTP protocol asks `refusal_now` before uvicorn builds a request cycle (service/refusal_protocol.py).

Clients that ignore Retry-After. However cheap a refusal is, a closed loop of clients that resend at once keeps
the event loop busy refusing and takes the cores the engine needs. So this layer remembers, per connection (client
address and port), until when its last refusal asked it to wait. A connection back earlier while the queue is
still full is held until then (at most GANSERVE_REFUSAL_HOLD_MAX_S, 1 s; 0 turns holding off), then decided afresh:
served if the queue has room by then, refused if not. Held connections cost a timer each, not CPU; clients that
honour Retry-After are never held. A queue can also fit nothing it is sent without being full (1,000 of 1,024
places taken, 64-image requests): the regular path refuses those, this layer notes the room the queue had, and a
connection back early while the room has not grown is held too, then goes to the regular path (which decides by
size) unless the queue is full by then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import check_key
from service.batcher import Batcher
from service.errors import Overloaded, Unauthorized
from service.http_errors import error_response
from service.paths import ModelPath, model_path
from service.refusal_records import Connection, RefusalSummary, RetryWindows
from service.requestid import HEADER, accept_request_id
from service.state import Service

log = logging.getLogger("ganserve.shedding")

METHODS = {"image": ("GET", "HEAD")}  # every other model endpoint is POST (tests/service/test_paths.py checks)
_HEADER = HEADER.encode()


class EarlyRefusal:
    def __init__(self, app: ASGIApp, service: Service, windows: RetryWindows | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:  # fmt: skip
        self.app = app
        self.service = service
        self.windows = windows or RetryWindows()
        self.sleep = sleep
        self.summary = RefusalSummary()
        self._rendered: dict[tuple[str, float], tuple[Message, Message]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target, client = model_path(scope["path"]), scope.get("client")
            if target is not None:
                headers = Headers(scope=scope)
                batcher = self._candidate(scope["method"], target, headers, client)
                if batcher is not None:
                    started = time.perf_counter()
                    hold = self._hold_s(client)
                    if hold > 0:  # came back before its Retry-After: wait, then decide again
                        await self.sleep(hold)
                        batcher = None if self.service.lifecycle.draining else self._full_batcher(target)
                    if batcher is not None:
                        start, body = self._refusal(batcher, target, client, headers, started)
                        await send(start)
                        await send(body)
                        return
                if self.service.settings.refusal_hold_max_s > 0:
                    send = self._noting_refusals(scope, target, send)
        await self.app(scope, receive, send)

    def refusal_now(
        self, method: str, path: str, headers: Headers, client: Connection
    ) -> tuple[Message, Message] | None:
        """The refusal to send at once for a request read by the HTTP protocol itself (service/refusal_protocol.py),
        with its metrics counted; None where __call__ would not refuse it at once (it may fit, or be held)."""
        started = time.perf_counter()
        target = model_path(path)
        batcher = None if target is None else self._candidate(method, target, headers, client)
        if target is None or batcher is None or self._hold_s(client) > 0:  # back early: __call__ holds it
            return None
        return self._refusal(batcher, target, client, headers, started)

    def _candidate(self, method: str, target: ModelPath, headers: Headers, client: Connection) -> Batcher | None:
        """The batcher that would refuse this request here (before any hold), or None: the regular path decides."""
        batcher = self._full_batcher(target) or self._no_room_since(client, target)
        return batcher if batcher is not None and self._may_refuse(method, headers, target) else None

    def _hold_s(self, client: Connection) -> float:
        """How long to hold this connection first: until its Retry-After, at most REFUSAL_HOLD_MAX_S (0: none)."""
        return min(self.windows.early_by(client), self.service.settings.refusal_hold_max_s)

    def _no_room_since(self, client: Connection, target: ModelPath) -> Batcher | None:
        """The model's batcher if this connection is back early after a regular-path refusal and its queue's room
        has not grown since (the same request would be refused again), else None."""
        room = self.windows.room_then(client)
        if room < 0 or self.windows.early_by(client) <= 0:
            return None
        batcher = self._batcher(target)
        return batcher if batcher is not None and batcher.room <= room else None

    def _batcher(self, target: ModelPath) -> Batcher | None:
        versions = self.service.registry.models.get(target.model)
        if not versions:
            return None
        if target.version is None:
            return self.service.registry.get(target.model).batcher
        model = versions.get(target.version)
        return model.batcher if model is not None else None

    def _noting_refusals(self, scope: Scope, target: ModelPath, send: Send) -> Send:
        """`send`, noting a regular-path refusal (503/429 with Retry-After) and the room the queue had then."""

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (503, 429):
                retry_after = Headers(raw=message["headers"]).get("retry-after")
                batcher = None if self.service.lifecycle.draining else self._batcher(target)
                if retry_after and retry_after.isdigit() and batcher is not None:
                    self.windows.refused(scope.get("client"), float(retry_after), batcher.room)
            await send(message)

        return noting

    def _full_batcher(self, target: ModelPath) -> Batcher | None:
        """The batcher that would refuse this request, or None if its queue (any of them, for v1) has room."""
        versions = self.service.registry.models.get(target.model)
        if not versions:
            return None
        if target.version is not None:
            model = versions.get(target.version)
            return model.batcher if model is not None and model.batcher.full else None
        if not all(model.batcher.full for model in versions.values()):
            return None
        return self.service.registry.get(target.model).batcher

    def _may_refuse(self, method: str, headers: Headers, target: ModelPath) -> bool:
        """Whether this layer may refuse the request (or must leave it to the regular path)."""
        if method not in METHODS.get(target.endpoint, ("POST",)) or self.service.lifecycle.draining:
            return False
        if "if-none-match" in headers:
            return False
        try:  # a stranger must not learn that a model exists and is busy: the regular path answers its 401
            check_key(self.service.settings.api_key, headers.get("x-api-key"), headers.get("authorization"))
        except Unauthorized:
            return False
        return True

    def _refusal(
        self, batcher: Batcher, target: ModelPath, client: Connection, headers: Headers, started: float
    ) -> tuple[Message, Message]:
        """Refuse: count it, remember the connection's window, and return the (pre-rendered) answer."""
        error = batcher.refuse()
        if self.service.settings.refusal_hold_max_s > 0:
            self.windows.refused(client, error.retry_after_s)
        start, body = self._response(error)
        request_id = accept_request_id(headers.get(HEADER)).encode()
        metrics = self.service.model_metrics(target.model)
        if metrics is not None:
            metrics.request(target.endpoint, start["status"], time.perf_counter() - started)
        self.summary.refused(target.model, error.retry_after_s)
        return {**start, "headers": [*start["headers"], (_HEADER, request_id)]}, body

    def _response(self, error: Overloaded) -> tuple[Message, Message]:
        key = (error.message, error.retry_after_s)
        rendered = self._rendered.get(key)
        if rendered is None:
            response = error_response(error, self.service.settings.overload_status)
            start: dict[str, Any] = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
            rendered = (start, {"type": "http.response.body", "body": bytes(response.body)})
            self._rendered[key] = rendered
        return rendered
