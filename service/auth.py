"""Optional API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from service.errors import Unauthorized


async def check_api_key(request: Request) -> None:
    """A dependency for protected routers: raises Unauthorized unless the configured key was sent.
    (async so that FastAPI calls it inline instead of hopping to its thread pool)"""
    key = request.app.state.service.settings.api_key
    if key is None:
        return
    supplied = request.headers.get("x-api-key")
    if supplied is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        supplied = token.strip() if scheme.lower() == "bearer" else None
    if supplied is None or not hmac.compare_digest(supplied.encode(), key.get_secret_value().encode()):
        raise Unauthorized("missing or wrong API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
