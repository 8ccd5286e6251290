"""Early refusal: answer a request for a model whose queue is full before routing, body parsing and middleware.

Under a storm of clients that resend at once after a refusal (misconfigured retry loops, some proxies), each
refusal taking the whole FastAPI path (routing, the API-key dependency, reading and validating the body, raising
and rendering the error) costs the event loop ~0.4 ms, and the refusals starve the accepted work. This pure ASGI
layer sits outside all of that. It reads the model from the path (`service/paths.py`), asks that model's batcher
whether its queue is full (a full queue fits no request, whatever its size) and, if so, answers with the response
the regular path would give (the same JSON body, status, `Retry-After` and metrics: it is rendered by the one
errors-to-HTTP mapping, `service.http_errors`, and kept per model and Retry-After value) without
reading the body.

It steps aside (the regular path decides) whenever the answer could differ from the regular path's:

- the queue has any room: requests that fit are never refused here;
- the service is draining (the drain answer and its `Connection: close` come from `RequestGate`);
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
the event loop busy refusing, and on a small host that takes the cores the engine needs. So this layer remembers,
per connection (client address and port), until when its last refusal asked it to wait. A connection that comes
back earlier, while the queue is still full, is held until then (at most GANSERVE_REFUSAL_HOLD_MAX_S, 1 s by
default; 0 turns holding off) and then decided afresh: if the queue has room by then, the request goes on to the
regular path and is served; if not, it is refused. Clients that honour Retry-After are never held, and the held
connections cost a timer each, not CPU. A queue can also fit nothing it is sent without being full (1,000 of 1,024
places taken, 64-image requests): the regular path refuses those, and this layer notes the refusal and the room
the queue had; a connection back before its Retry-After while the room has not grown is held too, and then goes
to the regular path (which decides by the request's size) unless the queue is full by then.
"""

from __future__ import annotations

import asyncio
import itertools
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
from service.logs import log_event
from service.paths import ModelPath, model_path
from service.requestid import HEADER, accept_request_id
from service.state import Service

log = logging.getLogger("ganserve.shedding")

METHODS = {"image": ("GET", "HEAD")}  # every other model endpoint is POST (tests/service/test_paths.py checks)
_HEADER = HEADER.encode()
Connection = tuple[str, int] | None  # ASGI's scope["client"]


class RetryWindows:
    """Per connection, until when its last refusal asked it to wait (monotonic seconds). Bounded: entries leave
    once their time has passed (checked oldest first on every refusal), and past `limit` the oldest go."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 65_536) -> None:
        self.clock, self.limit = clock, limit
        self._until: dict[Connection, tuple[float, int]] = {}  # until when, and the room its refusal found

    def early_by(self, connection: Connection) -> float:
        """Seconds until `connection` was asked to come back (0.0 if it was not, or that time has passed)."""
        entry = self._until.get(connection)
        return 0.0 if entry is None else max(0.0, entry[0] - self.clock())

    def room_then(self, connection: Connection) -> int:
        """The queue's room when the regular path refused `connection` (-1: refused here, for a full queue)."""
        entry = self._until.get(connection)
        return -1 if entry is None else entry[1]

    def refused(self, connection: Connection, retry_after_s: float, room: int = -1) -> None:
        now = self.clock()
        self._until.pop(connection, None)  # re-inserted last: the dict stays (roughly) in order of expiry
        self._until[connection] = (now + retry_after_s, room)
        excess = len(self._until) - self.limit
        stale: list[Connection] = []
        for key, (until, _) in itertools.islice(self._until.items(), max(8, excess)):
            if until > now and len(stale) >= excess:
                break
            stale.append(key)
        for key in stale:
            del self._until[key]

    def __len__(self) -> int:
        return len(self._until)


class RefusalSummary:
    """One log line per model at most every PERIOD_S, with the refusals since the last one, instead of an access
    line per refusal: during a storm those lines would cost more CPU than the refusals themselves."""

    PERIOD_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._counts: dict[str, int] = {}
        self._last: dict[str, float] = {}

    def refused(self, model: str, retry_after_s: float) -> None:
        self._counts[model] = self._counts.get(model, 0) + 1
        now = self.clock()
        if now - self._last.get(model, -self.PERIOD_S) >= self.PERIOD_S:
            log_event(log, logging.WARNING, "queue full: refusing early", model=model,
                      refused=self._counts.pop(model), retry_after_s=retry_after_s)  # fmt: skip
            self._last[model] = now


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
                batcher = self._full_batcher(target) or self._no_room_since(client, target)
                headers = Headers(scope=scope) if batcher is not None else None
                if headers is not None and self._may_refuse(scope["method"], headers, target):
                    started = time.perf_counter()
                    hold = min(self.windows.early_by(client), self.service.settings.refusal_hold_max_s)
                    if hold > 0:  # came back before its Retry-After: wait, then decide again
                        await self.sleep(hold)
                        batcher = None if self.service.lifecycle.draining else self._full_batcher(target)
                    if batcher is not None:
                        start, body = self._refusal(batcher, target, client, headers, started)
                        await send(start)
                        await send(body)
                        return
            if target is not None and self.service.settings.refusal_hold_max_s > 0:
                send = self._noting_refusals(scope, target, send)
        await self.app(scope, receive, send)

    def refusal_now(
        self, method: str, path: str, headers: Headers, client: Connection
    ) -> tuple[Message, Message] | None:
        """The refusal to send at once for a request read by the HTTP protocol itself (service/refusal_protocol.py),
        with its metrics counted; None where __call__ would not refuse it at once (it may fit, or be held)."""
        started = time.perf_counter()
        target = model_path(path)
        if target is None:
            return None
        batcher = self._full_batcher(target) or self._no_room_since(client, target)
        if batcher is None or not self._may_refuse(method, headers, target):
            return None
        if self.service.settings.refusal_hold_max_s > 0 and self.windows.early_by(client) > 0:
            return None  # back early: __call__ holds it
        return self._refusal(batcher, target, client, headers, started)

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
