"""One exception tree for the service: what went wrong, in words that say what to fix. No transport here.

    GanserveError                  base: `message` says what to fix
    ├── ClientError                the request is wrong; retrying it unchanged will fail again
    │   ├── MalformedRequest       not JSON / not base64 / missing body
    │   ├── InvalidRequest         well-formed but a value is out of range or inconsistent
    │   ├── WrongKind              e.g. generate on a translation model
    │   ├── InvalidImage           upload is not a decodable image, or has the wrong size
    │   ├── PayloadTooLarge        upload over the byte or pixel limit (decompression bombs too)
    │   ├── UnsupportedMediaType   body content type the endpoint does not take
    │   ├── NotAcceptable          no answer the client's Accept admits (the message lists what this server has)
    │   ├── Unauthorized           API key missing or wrong
    │   ├── ModelControlOff        a repository call (load/unload) while GANSERVE_MODEL_CONTROL does not allow it
    │   ├── LoadFailed             a model version could not be loaded; what was serving is untouched
    │   └── UnknownModel           no such model or version (names resolve only through the registry)
    ├── Unavailable                not now: retrying later (or elsewhere) may succeed; `retry_after_s` says when
    │   ├── Overloaded             the queue is full
    │   ├── Draining               the server is shutting down
    │   └── NotReady               models are still loading
    ├── DeadlineExceeded           the request's deadline passed before its items ran
    ├── Cancelled                  the client went away
    └── InferenceFailed            the model failed on this batch; other batches are unaffected

The batcher, the registry and the routes raise these. Each transport maps them to its own codes in one place:
HTTP in `service.http_errors` (status, JSON "type", headers).
"""

from __future__ import annotations


class GanserveError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(GanserveError):
    pass


class MalformedRequest(ClientError):
    pass


class InvalidRequest(ClientError):
    pass


class WrongKind(ClientError):
    pass


class InvalidImage(ClientError):
    pass


class PayloadTooLarge(ClientError):
    pass


class UnsupportedMediaType(ClientError):
    pass


class NotAcceptable(ClientError):
    pass


class Unauthorized(ClientError):
    pass


class UnknownModel(ClientError):
    pass


class ModelControlOff(ClientError):
    pass


class LoadFailed(ClientError):
    pass


class Unavailable(GanserveError):
    def __init__(self, message: str, retry_after_s: float = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Overloaded(Unavailable):
    pass


class Draining(Unavailable):
    pass


class NotReady(Unavailable):
    pass


class DeadlineExceeded(GanserveError):
    pass


class Cancelled(GanserveError):
    pass


class InferenceFailed(GanserveError):
    pass
