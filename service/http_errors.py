"""Domain errors to HTTP: the one place where the service chooses a status code.

    raise Overloaded("model 'm' is at capacity ...")   ->   503 (or 429), Retry-After: 1,
                                                           {"error": "model 'm' is at capacity ...", "type": "queue_full"}

Every error leaves as `{"error", "type"}` JSON: domain errors (`service.errors`), FastAPI's request validation,
routing misses (404/405), and bugs (500, logged with a traceback). The draining middleware answers through
`send_error` with the same mapping. A client that went away (`Cancelled`) gets 499, which nobody reads; it is an
ordinary event and logged at debug level only.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from service.errors import (
    Cancelled,
    ClientError,
    DeadlineExceeded,
    Draining,
    GanserveError,
    InferenceFailed,
    InvalidImage,
    InvalidRequest,
    LoadFailed,
    MalformedRequest,
    ModelControlOff,
    NotAcceptable,
    NotReady,
    Overloaded,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnknownModel,
    UnsupportedMediaType,
    WrongKind,
)

log = logging.getLogger("ganserve")

# (status, JSON "type") per error class; a subclass not listed takes its nearest listed ancestor's entry.
STATUS: dict[type[GanserveError], tuple[int, str]] = {
    GanserveError: (500, "internal"),
    ClientError: (400, "bad_request"),
    MalformedRequest: (400, "malformed_request"),
    InvalidRequest: (422, "invalid_request"),
    WrongKind: (422, "wrong_kind"),
    InvalidImage: (422, "invalid_image"),
    PayloadTooLarge: (413, "payload_too_large"),
    UnsupportedMediaType: (415, "unsupported_media_type"),
    NotAcceptable: (406, "not_acceptable"),
    Unauthorized: (401, "unauthorized"),
    UnknownModel: (404, "unknown_model"),
    ModelControlOff: (403, "model_control_off"),
    LoadFailed: (400, "load_failed"),  # as Triton answers a failed load
    Unavailable: (503, "unavailable"),
    Overloaded: (503, "queue_full"),  # or 429: GANSERVE_OVERLOAD_STATUS
    Draining: (503, "draining"),
    NotReady: (503, "not_ready"),
    DeadlineExceeded: (504, "deadline_exceeded"),
    Cancelled: (499, "cancelled"),  # nginx's "client closed request": never read by anyone
    InferenceFailed: (500, "inference_failed"),
}
# Routing misses are chosen by the router (404, 405); these name them.
_ROUTING_TYPES = {404: "not_found", 405: "method_not_allowed"}


@dataclass(frozen=True)
class HttpError:
    status: int
    kind: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps({"error": self.message, "type": self.kind}).encode()

    def response(self) -> Response:
        return Response(
            self.body(), status_code=self.status, media_type="application/json", headers=self.headers or None
        )


def to_http(exc: GanserveError, overload_status: int = 503) -> HttpError:
    """The status, type, headers and message for a domain error."""
    status, kind = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    if isinstance(exc, Overloaded):
        status = overload_status
    headers: dict[str, str] = {}
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = str(max(0, math.ceil(exc.retry_after_s)))
    if isinstance(exc, Draining):
        headers["Connection"] = "close"  # so balancers stop reusing a connection to a replica that is leaving
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="ganserve"'
    return HttpError(status, kind, exc.message, headers)


def error_response(exc: GanserveError, overload_status: int = 503) -> Response:
    return to_http(exc, overload_status).response()


async def send_error(send: Send, exc: GanserveError, overload_status: int = 503) -> None:
    """Answer a raw ASGI request with the mapped error (for middleware that answers before any routing)."""
    error = to_http(exc, overload_status)
    body = error.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI, overload_status: int) -> None:
    """Route every exception the app can raise through the mapping above."""

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GanserveError)
        if isinstance(exc, Cancelled):
            log.debug("%s %s: %s", request.method, request.url.path, exc.message)
        return error_response(exc, overload_status)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return error_response(InvalidRequest("; ".join(parts) or "invalid request"), overload_status)

    async def routing(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {
            404: f"no such endpoint: {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        error = HttpError(
            exc.status_code,
            _ROUTING_TYPES.get(exc.status_code, "http_error"),
            message,
            dict(exc.headers) if exc.headers else {},
        )
        return error.response()

    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return HttpError(500, "internal", "internal server error").response()

    app.add_exception_handler(GanserveError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, routing)
    app.add_exception_handler(Exception, bug)
