"""Prometheus scrape endpoint (behind the API key only when GANSERVE_PROTECT_METRICS is true)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service.auth import check_api_key
from service.metrics import CONTENT_TYPE_LATEST
from service.state import get_service

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    service = get_service(request)
    if service.settings.protect_metrics:
        await check_api_key(request)
    return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)
