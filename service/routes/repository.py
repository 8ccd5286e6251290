"""The Open Inference Protocol's model repository extension, as Triton implements it (tritonclient works as is).

    curl -X POST localhost:8000/v2/repository/index                    # [{"name", "version", "state", "reason"}]
    curl -X POST localhost:8000/v2/repository/models/faces/load        # (re)load every version of models/faces/
    curl -X POST localhost:8000/v2/repository/models/faces/unload      # drain, then release it

Off by default (403 with how to turn it on): GANSERVE_MODEL_CONTROL=explicit allows all three; with `poll` the
server follows its models folder itself and only the index is open. GANSERVE_ADMIN_KEY, when set, is needed here
(and only here); without it these calls take the inference API key like every other route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from service.http import read_json
from service.repository import ModelRepository
from service.state import get_service

router = APIRouter(tags=["v2 repository (live model management)"])

_BODY_LIMIT = 64 * 1024


class IndexRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ready: bool = False  # only the models that are ready


class ModelRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    parameters: dict[str, Any] | None = None


def _repository(request: Request, change: bool) -> ModelRepository:
    repository = get_service(request).repository
    assert repository is not None  # the lifespan builds it before serving
    repository.check_control(change)
    return repository


def _body(schema: type[BaseModel]) -> dict[str, Any]:
    """The optional JSON body, for the OpenAPI document (the route reads it itself: an empty body is `{}`)."""
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema.model_json_schema()}}}}


@router.post("/v2/repository/index", openapi_extra=_body(IndexRequest))
async def repository_index(request: Request) -> list[dict[str, str]]:
    """Every model in the repository, one row per version: READY, UNAVAILABLE (with the reason), LOADING..."""
    repository = _repository(request, change=False)
    body = await read_json(request, IndexRequest, _BODY_LIMIT)
    return repository.index(ready_only=body.ready)


@router.post("/v2/repository/models/{name}/load", openapi_extra=_body(ModelRequest))
async def load_model(name: str, request: Request) -> dict[str, Any]:
    """Read, validate and warm every version of models/{name}/, then serve them (the newest by default)."""
    repository = _repository(request, change=True)
    body = await read_json(request, ModelRequest, _BODY_LIMIT)
    repository.check_load_parameters(name, list(body.parameters or {}))
    versions = await repository.load(name)
    return {"name": name, "versions": versions, "state": "READY"}


@router.post("/v2/repository/models/{name}/unload", openapi_extra=_body(ModelRequest))
async def unload_model(name: str, request: Request) -> dict[str, Any]:
    """Stop taking requests for {name}, finish the accepted ones, release its sessions."""
    repository = _repository(request, change=True)
    await read_json(request, ModelRequest, _BODY_LIMIT)
    await repository.unload(name)
    return {"name": name, "state": "UNAVAILABLE"}
