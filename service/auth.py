"""Optional API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr
from starlette.requests import Request

from service.errors import Unauthorized


async def check_api_key(request: Request) -> None:
    """A dependency for protected routers: raises Unauthorized unless the configured key was sent.
    (async so that FastAPI calls it inline instead of hopping to its thread pool)"""
    key = request.app.state.service.settings.api_key
    if key is not None and not key_matches(request.headers, key):
        raise Unauthorized("missing or wrong API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")


def key_matches(headers: Mapping[str, str], key: SecretStr) -> bool:
    """True when the headers carry `key` (also used by the early refusal layer, which must not tell strangers
    that a model's queue is full)."""
    supplied = headers.get("x-api-key")
    if supplied is None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        supplied = token.strip() if scheme.lower() == "bearer" else None
    return supplied is not None and hmac.compare_digest(supplied.encode(), key.get_secret_value().encode())
