"""One exception tree for the service, and its mapping to HTTP (the only place status codes are chosen).

    GanserveError                  base: `message` says what to fix, `kind` is the JSON "type"
    ├── ClientError                400  the request is wrong; retrying it unchanged will fail again
    │   ├── MalformedRequest       400  not JSON / not base64 / missing body
    │   ├── InvalidRequest         422  well-formed but a value is out of range or inconsistent
    │   ├── WrongKind              422  e.g. generate on a translation model
    │   ├── InvalidImage           422  upload is not a decodable image, or has the wrong size
    │   ├── PayloadTooLarge        413  upload over the byte or pixel limit (decompression bombs too)
    │   ├── UnsupportedMediaType   415  body content type the endpoint does not take
    │   ├── Unauthorized           401  API key missing or wrong
    │   └── UnknownModel           404  no such model or version (names resolve only through the registry)
    ├── Overloaded                 503 (or 429)  queue full; has Retry-After
    ├── Draining                   503  the server is shutting down; has Retry-After
    ├── NotReady                   503  models are still loading
    ├── DeadlineExceeded           504  the request's deadline passed before its items ran
    ├── Cancelled                  499  the client went away (never sent: there is nobody to send it to)
    └── InferenceFailed            500  the model failed on this batch; other batches are unaffected

The batcher and the routes raise these; `error_response` turns any of them into `{"error", "type"}` JSON.
"""

from __future__ import annotations

import json

from starlette.responses import Response


class GanserveError(Exception):
    status = 500
    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(GanserveError):
    status = 400
    kind = "bad_request"


class MalformedRequest(ClientError):
    status = 400
    kind = "malformed_request"


class InvalidRequest(ClientError):
    status = 422
    kind = "invalid_request"


class WrongKind(ClientError):
    status = 422
    kind = "wrong_kind"


class InvalidImage(ClientError):
    status = 422
    kind = "invalid_image"


class PayloadTooLarge(ClientError):
    status = 413
    kind = "payload_too_large"


class UnsupportedMediaType(ClientError):
    status = 415
    kind = "unsupported_media_type"


class Unauthorized(ClientError):
    status = 401
    kind = "unauthorized"


class UnknownModel(ClientError):
    status = 404
    kind = "unknown_model"


class Overloaded(GanserveError):
    status = 503
    kind = "queue_full"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # estimated from the queue (service/retry_after.py)


class Draining(GanserveError):
    status = 503
    kind = "draining"
    retry_after_s = 1


class NotReady(GanserveError):
    status = 503
    kind = "not_ready"
    retry_after_s = 1


class DeadlineExceeded(GanserveError):
    status = 504
    kind = "deadline_exceeded"


class Cancelled(GanserveError):
    status = 499
    kind = "cancelled"


class InferenceFailed(GanserveError):
    status = 500
    kind = "inference_failed"


def json_error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": message, "type": kind}).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(exc: GanserveError, overload_status: int = 503) -> Response:
    """The single mapping from domain errors to HTTP responses."""
    status = overload_status if isinstance(exc, Overloaded) else exc.status
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="ganserve"'
    return json_error(status, exc.message, exc.kind, headers)
