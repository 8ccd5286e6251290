"""Liveness and readiness (KServe v2 paths), open without an API key."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from service.errors import Draining, NotReady
from service.state import get_service

router = APIRouter(tags=["health"])


@router.get("/v2/health/live")
async def live() -> dict[str, bool]:
    """The process is up (restart it if this fails)."""
    return {"live": True}


@router.get("/v2/health/ready")
async def ready(request: Request) -> dict[str, bool]:
    """Models are loaded and the server is not draining (send traffic only while this is 200)."""
    lifecycle = get_service(request).lifecycle
    if lifecycle.draining:
        raise Draining("draining for shutdown")
    if not lifecycle.ready:
        raise NotReady("no model is loaded (yet)")
    return {"ready": True}
