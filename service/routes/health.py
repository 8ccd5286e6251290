"""Liveness and readiness (KServe v2 paths), open without an API key."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from service.errors import json_error
from service.state import get_service

router = APIRouter(tags=["health"])


@router.get("/v2/health/live")
async def live() -> dict[str, bool]:
    """The process is up (restart it if this fails)."""
    return {"live": True}


@router.get("/v2/health/ready", response_model=None)
async def ready(request: Request) -> object:
    """Models are loaded and the server is not draining (send traffic only while this is 200)."""
    lifecycle = get_service(request).lifecycle
    if lifecycle.draining:
        return json_error(503, "draining for shutdown", "draining", {"Retry-After": "1"})
    if not lifecycle.ready:
        return json_error(503, "no model is loaded (yet)", "not_ready", {"Retry-After": "1"})
    return {"ready": True}
