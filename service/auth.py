"""Optional API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time."""

from __future__ import annotations

import hmac

from pydantic import SecretStr
from starlette.requests import Request

from service.errors import Unauthorized


async def check_api_key(request: Request) -> None:
    """A dependency for protected routers: raises Unauthorized unless the configured key was sent.
    (async so that FastAPI calls it inline instead of hopping to its thread pool)"""
    _check(request, request.app.state.service.settings.api_key, "API key")


async def check_admin_key(request: Request) -> None:
    """For the model repository routes: GANSERVE_ADMIN_KEY when set, else the API key like every other route."""
    settings = request.app.state.service.settings
    if settings.admin_key is not None:
        _check(request, settings.admin_key, "admin key (GANSERVE_ADMIN_KEY)")
    else:
        _check(request, settings.api_key, "API key")


def _check(request: Request, key: SecretStr | None, what: str) -> None:
    if key is None:
        return
    supplied = request.headers.get("x-api-key")
    if supplied is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        supplied = token.strip() if scheme.lower() == "bearer" else None
    if supplied is None or not hmac.compare_digest(supplied.encode(), key.get_secret_value().encode()):
        raise Unauthorized(f"missing or wrong {what}: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
