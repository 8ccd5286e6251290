"""What is served: GET /v1/models and /v1/models/{name}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from service.schemas import model_info
from service.state import get_service

router = APIRouter(tags=["models"])


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, list[dict[str, Any]]]:
    """Every served model (latest version), with kind, image size, classes and versions."""
    registry = get_service(request).registry
    return {"models": [model_info(m, registry) for m in registry.latest()]}


@router.get("/v1/models/{name}")
async def get_model(name: str, request: Request, version: str | None = None) -> dict[str, Any]:
    """One model (latest version unless ?version= is given); 404 if it is not served."""
    registry = get_service(request).registry
    return model_info(registry.get(name, version), registry)
