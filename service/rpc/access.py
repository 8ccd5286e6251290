"""Request IDs, access lines and traces for gRPC calls: the gRPC twin of `service.access`.

    grpc.aio.server(interceptors=[RequestTracking(tracer, access_log=True), ...])    # first: the outermost

A call's `x-request-id` metadata is taken when it is safe (`service.requestid`), else replaced; the answer
carries it in its initial metadata, refusals included. The call gets a `RequestRecord` (so the registry and the
batcher fill in its model, queue wait, batch and stages), one access line on `ganserve.access` (route = the gRPC
method, `grpc_status` = the status code name, `status` = the HTTP status the same outcome has), and its spans
when tracing is on (a `traceparent` in the metadata continues the caller's trace).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

from service.access import CLIENT_GONE, write_access_line
from service.context import RequestRecord, bind, unbind
from service.requestid import HEADER, accept_request_id

if TYPE_CHECKING:
    from service.tracing import Tracer

# The HTTP status each gRPC outcome corresponds to (as gRPC gateways translate them), for one `status` field.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: CLIENT_GONE,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
QUIET_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/inference.GRPCInferenceService/ServerLive",
        "/inference.GRPCInferenceService/ServerReady",
    }
)


class RequestTracking(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, tracer: Tracer | None = None, access_log: bool = True) -> None:
        self.tracer = tracer
        self.access_log = access_log

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler  # streaming calls (health Watch) pass untouched
        metadata = dict(details.invocation_metadata or ())
        inner = handler.unary_unary
        method: str = details.method

        async def tracked(request: Any, context: Any) -> Any:
            record = RequestRecord(accept_request_id(metadata.get(HEADER)), "GRPC", method, _peer(context))
            record.route = method
            span = None
            if self.tracer is not None:
                carrier = [(k.encode(), v.encode()) for k, v in metadata.items() if k in ("traceparent", "tracestate")]
                span = self.tracer.start(record, carrier or None)
            await context.send_initial_metadata(((HEADER, record.request_id),))
            token = bind(record)
            code = None
            try:
                return await inner(request, context)
            except asyncio.CancelledError:  # the client cancelled, or its deadline passed
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:  # an abort (the servicer's mapped refusal) has set the code; anything else is a bug
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                unbind(token)
                end = time.perf_counter()
                code = code or context.code() or grpc.StatusCode.OK
                record.status = HTTP_STATUS.get(code, 500)
                if span is not None and self.tracer is not None:
                    self.tracer.finish(span, record, end)
                if self.access_log:
                    write_access_line(record, end, grpc_status=code.name, quiet=method in QUIET_METHODS)

        return grpc.unary_unary_rpc_method_handler(
            tracked, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


def _peer(context: Any) -> str | None:
    """ "ipv4:127.0.0.1:5342" -> "127.0.0.1:5342" (the same form as HTTP access lines)."""
    peer: str | None = context.peer()
    return peer.split(":", 1)[1] if peer and ":" in peer else peer
