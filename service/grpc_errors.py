"""The single mapping from domain errors (service/errors.py) to gRPC status codes: the gRPC twin of the HTTP
mapping, over the same exception tree, so both surfaces refuse the same things in their own terms.

    ClientError            INVALID_ARGUMENT   (the request is wrong; retrying it unchanged fails again; LoadFailed too)
    ├── Unauthorized       UNAUTHENTICATED
    ├── UnknownModel       NOT_FOUND
    ├── ModelControlOff    FAILED_PRECONDITION (GANSERVE_MODEL_CONTROL does not allow the repository call)
    └── PayloadTooLarge    RESOURCE_EXHAUSTED (as gRPC's own message size limit answers)
    Unavailable            UNAVAILABLE (Draining, NotReady); retry-after
    └── Overloaded         UNAVAILABLE, or RESOURCE_EXHAUSTED where GANSERVE_OVERLOAD_STATUS=429; retry-after
    DeadlineExceeded       DEADLINE_EXCEEDED
    Cancelled              CANCELLED
    InferenceFailed        INTERNAL

Every refusal carries trailing metadata `ganserve-error-type` (the JSON "type" the same error has over HTTP), and
`retry-after` (whole seconds) where HTTP sends Retry-After.
"""

from __future__ import annotations

import math

import grpc

from service.errors import (
    Cancelled,
    ClientError,
    DeadlineExceeded,
    GanserveError,
    ModelControlOff,
    Overloaded,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnknownModel,
)
from service.http_errors import to_http

# most specific first
_CODES: list[tuple[type[GanserveError], grpc.StatusCode]] = [
    (Unauthorized, grpc.StatusCode.UNAUTHENTICATED),
    (UnknownModel, grpc.StatusCode.NOT_FOUND),
    (ModelControlOff, grpc.StatusCode.FAILED_PRECONDITION),
    (PayloadTooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (ClientError, grpc.StatusCode.INVALID_ARGUMENT),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Cancelled, grpc.StatusCode.CANCELLED),
]


def grpc_status(exc: GanserveError, overload_status: int = 503) -> grpc.StatusCode:
    if isinstance(exc, Overloaded):
        return grpc.StatusCode.RESOURCE_EXHAUSTED if overload_status == 429 else grpc.StatusCode.UNAVAILABLE
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


def trailing_metadata(exc: GanserveError) -> tuple[tuple[str, str], ...]:
    kind = ("ganserve-error-type", to_http(exc).kind)
    if isinstance(exc, Unavailable):
        return kind, ("retry-after", str(max(0, math.ceil(exc.retry_after_s))))
    return (kind,)
