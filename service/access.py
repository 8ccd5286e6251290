"""The outermost layer of every HTTP request: its ID, its record, its access line and (when on) its trace.

`RequestTracker` is a pure ASGI middleware (no BaseHTTPMiddleware: no extra task or body copy per request):

- takes the client's `X-Request-ID` if it is safe, else makes one (`service.requestid`), and answers with it on
  every response, errors and refusals included;
- binds a `RequestRecord` (`service.context`) that the registry and the batcher fill in;
- writes one access line per request to the `ganserve.access` logger: method, route template, model, version,
  status, duration, queue wait, batch size, images, request ID, client address (health checks and scrapes at
  debug level, so they do not drown the rest);
- hands the record to the tracer, if tracing is on, which turns it into spans;
- answers a bug (an exception no handler took) with the JSON 500 and logs its traceback once, with the ID. A
  client that went away is not a bug: status 499 in the access line, no traceback.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.context import RequestRecord, bind, unbind
from service.errors import Cancelled, GanserveError
from service.http_errors import STATUS, error_response
from service.requestid import HEADER, accept_request_id

if TYPE_CHECKING:
    from service.tracing import Tracer

log = logging.getLogger("ganserve.access")
bugs = logging.getLogger("ganserve")

QUIET_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})  # logged at debug level
_HEADER = HEADER.encode()
CLIENT_GONE = STATUS[Cancelled][0]  # 499, nginx's "the client closed the connection before the answer"


class RequestTracker:
    def __init__(self, app: ASGIApp, tracer: Tracer | None = None, access_log: bool = True) -> None:
        self.app = app
        self.tracer = tracer
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_id = traceparent = None
        for key, value in scope["headers"]:
            if key == _HEADER:
                client_id = value
            elif key == b"traceparent":
                traceparent = value
        record = RequestRecord(accept_request_id(client_id), scope["method"], scope["path"], _client(scope))
        extra_headers = [(_HEADER, record.request_id.encode())]
        span = None
        if self.tracer is not None:
            span = self.tracer.start(record, scope["headers"] if traceparent is not None else None)
            extra_headers.append((b"traceparent", self.tracer.traceparent(span).encode()))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra_headers]}
            await send(message)

        token = bind(record)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            record.status = record.status or CLIENT_GONE
        except Exception:
            bugs.exception("unhandled error on %s %s", record.method, record.path)
            if record.status:  # the answer had started: nothing more can be sent, let the server drop it
                raise
            await error_response(GanserveError("internal server error"))(scope, receive, send_with_id)
        finally:
            unbind(token)
            end = time.perf_counter()
            record.route = _route(scope)
            if span is not None and self.tracer is not None:
                self.tracer.finish(span, record, end)
            if self.access_log:
                write_access_line(record, end)


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def _route(scope: Scope) -> str | None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return None
    return path if hasattr(route, "methods") else f"{path}/{{path}}"  # a mount (the static files)


def write_access_line(record: RequestRecord, end: float, *, quiet: bool | None = None, **extra: Any) -> None:
    """The request's access line; `quiet` ones (health checks, scrapes) at debug level."""
    quiet = record.path in QUIET_PATHS if quiet is None else quiet
    level = logging.DEBUG if quiet else logging.INFO
    if not log.isEnabledFor(level):
        return
    status = record.status or CLIENT_GONE
    wait = record.queue_wait()
    fields: dict[str, Any] = {
        "method": record.method,
        "route": record.route,
        "path": record.path,
        "model": record.model,
        "version": record.version,
        "status": status,
        "duration_ms": round((end - record.started) * 1000, 3),
        "queue_wait_ms": None if wait is None else round(wait * 1000, 3),
        "batch_size": record.batch_size or None,
        "images": record.images,
        "request_id": record.request_id,
        "client": record.client,
        **extra,
    }
    log.log(level, "%s %s %d", record.method, record.route or record.path, status, extra={"fields": fields})
