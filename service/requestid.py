"""Request IDs: a client's `X-Request-ID` when it is safe to repeat, else a fresh one.

    accept_request_id("checkout-42")        -> "checkout-42"
    accept_request_id("two words\\n")        -> "9c1e..." (32 hex digits: replaced, never echoed)
    accept_request_id(None)                  -> "5b07..."

A safe ID is 1-128 characters of letters, digits and `. _ ~ : @ + = / -`: nothing that could break a log line,
a header or a JSON string. The ID only labels log lines, spans and answers; the service never uses it as a key
(two clients may send the same one). Any transport (HTTP header, gRPC metadata) goes through this function.
"""

from __future__ import annotations

import os
import re

HEADER = "x-request-id"
MAX_LENGTH = 128
_SAFE = re.compile(rf"[A-Za-z0-9._~:@+=/-]{{1,{MAX_LENGTH}}}")


def new_request_id() -> str:
    """128 random bits as 32 hex digits."""
    return os.urandom(16).hex()


def accept_request_id(value: str | bytes | None) -> str:
    """The client's ID if it is safe to log and echo, else a new one."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is not None and _SAFE.fullmatch(value):
        return value
    return new_request_id()
