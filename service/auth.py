"""Optional API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time.
The same rule guards HTTP (a dependency on the protected routers) and gRPC (metadata, service/rpc/server.py)."""

from __future__ import annotations

import hmac

from pydantic import SecretStr
from starlette.requests import Request

from service.errors import Unauthorized


def check_key(key: SecretStr | None, x_api_key: str | None, authorization: str | None, what: str = "API key") -> None:
    """Raise Unauthorized unless `key` is unset or was sent in one of the two headers (or metadata keys)."""
    if key is None:
        return
    supplied = x_api_key
    if supplied is None:
        scheme, _, token = (authorization or "").partition(" ")
        supplied = token.strip() if scheme.lower() == "bearer" else None
    if supplied is None or not hmac.compare_digest(supplied.encode(), key.get_secret_value().encode()):
        raise Unauthorized(f"missing or wrong {what}: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")


async def check_api_key(request: Request) -> None:
    """A dependency for protected routers: raises Unauthorized unless the configured key was sent.
    (async so that FastAPI calls it inline instead of hopping to its thread pool)"""
    headers = request.headers
    check_key(request.app.state.service.settings.api_key, headers.get("x-api-key"), headers.get("authorization"))


async def check_admin_key(request: Request) -> None:
    """For the model repository routes: GANSERVE_ADMIN_KEY when set, else the API key like every other route."""
    settings = request.app.state.service.settings
    headers = request.headers
    if settings.admin_key is not None:
        check_key(
            settings.admin_key, headers.get("x-api-key"), headers.get("authorization"), "admin key (GANSERVE_ADMIN_KEY)"
        )
    else:
        check_key(settings.api_key, headers.get("x-api-key"), headers.get("authorization"))
