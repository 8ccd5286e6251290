"""What the client raises. Every error carries a message a person can act on.

GanserveError
 ├── NetworkError              the server could not be reached or the connection broke
 │    └── RequestTimeoutError  no answer within the client's timeout
 └── APIError                  the server answered with an error status; `.message` is its `error` text
      ├── BadRequestError          400, 413, 415, 422: the request is wrong, the message says what to fix
      │    └── NotFoundError       404: unknown model (or version)
      ├── AuthenticationError      401, 403: missing or wrong API key
      ├── OverloadedError          503, 429: still refused after every retry; `.retry_after` in seconds
      ├── DeadlineExceededError    504: the request waited in the queue past its deadline
      └── ServerError              any other 5xx
"""

from __future__ import annotations

import json
from typing import Any


class GanserveError(Exception):
    """Base of everything this package raises. `request_id` is the call's X-Request-ID (the server's answer
    carries the same one, and its logs and traces are labelled with it): quote it when reporting a problem."""

    request_id: str | None = None


class NetworkError(GanserveError):
    """The server could not be reached, or the connection broke mid-request."""


class RequestTimeoutError(NetworkError):
    """The server did not answer within the client's timeout."""


class APIError(GanserveError):
    """The server answered with an error status. `message` is the server's own explanation."""

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.body = body
        self.request_id = request_id


class BadRequestError(APIError):
    """The request is malformed or out of range; fix it as the message says."""


class NotFoundError(BadRequestError):
    """The model (or version) is not served."""


class AuthenticationError(APIError):
    """The server needs an API key, or rejected the one sent."""


class OverloadedError(APIError):
    """The server's queue stayed full (503/429) through every retry."""

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str | None = None,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status_code, message, error_type, body, request_id)
        self.retry_after = retry_after


class DeadlineExceededError(APIError):
    """The request's deadline passed while it waited in the server's queue."""


class ServerError(APIError):
    """The server failed (5xx); the request may succeed later."""


def error_from_response(
    status_code: int, content: bytes, retry_after: float | None = None, request_id: str | None = None
) -> APIError:
    """Build the right `APIError` subclass from a status and a body (`{"error": ..., "type": ...}` by contract)."""
    body: Any = None
    error_type: str | None = None
    try:
        body = json.loads(content)
    except ValueError:
        message = content.decode("utf-8", "replace").strip()[:500] or "(empty body)"
    else:
        message, error_type = _message_of(body)
    if status_code in (429, 503):
        return OverloadedError(status_code, message, error_type, body, request_id, retry_after=retry_after)
    cls: type[APIError]
    if status_code == 404:
        cls = NotFoundError
    elif status_code in (401, 403):
        cls = AuthenticationError
    elif status_code == 504:
        cls = DeadlineExceededError
    elif 400 <= status_code < 500:
        cls = BadRequestError
    else:
        cls = ServerError
    return cls(status_code, message, error_type, body, request_id)


def _message_of(body: Any) -> tuple[str, str | None]:
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            error_type = body.get("type")
            return body["error"], error_type if isinstance(error_type, str) else None
        # FastAPI's default validation shape, in case a route answers before the service's own handler.
        if "detail" in body:
            detail = body["detail"]
            if isinstance(detail, list):
                parts = [
                    f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', d)}"
                    for d in detail
                    if isinstance(d, dict)
                ]
                return "; ".join(parts) or str(detail), None
            return str(detail), None
    return json.dumps(body)[:500], None
