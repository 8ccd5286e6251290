"""The Open Inference Protocol (KServe v2) REST surface, through the same batchers as /v1.

    POST /v2/models/dcgan-mnist/infer
    {"inputs": [{"name": "z", "shape": [2, 64], "datatype": "FP32", "data": [...128 floats...]}]}
    -> {"model_name", "model_version",
        "outputs": [{"name": "image", "shape": [2, 1, 28, 28], "datatype": "FP32", "data": [...]}]}

Tensors must match the manifest exactly (names, datatypes, fixed dimensions), be finite, and class labels must be in
range, so one client's bad tensor can never break a batch it would share with others.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from service.errors import InvalidRequest
from service.http import json_bytes_response, parse_json, read_json_body, unless_disconnected
from service.manifest import Kind, Role
from service.registry import Registry, ServedModel
from service.state import Service, get_service

router = APIRouter(tags=["v2 (KServe Open Inference Protocol)"])

DATATYPES = {"float32": "FP32", "float16": "FP16", "int64": "INT64"}
_BODY_LIMIT = 64 * 1024 * 1024


class InferInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


@router.get("/v2")
async def server_metadata() -> dict[str, Any]:
    """Server name, version and protocol extensions."""
    return {"name": "ganserve", "version": "0.1.0", "extensions": []}


def _metadata(model: ServedModel, registry: Registry) -> dict[str, Any]:
    def tensor(spec: Any) -> dict[str, Any]:
        return {"name": spec.name, "datatype": DATATYPES[spec.dtype],
                "shape": [d if isinstance(d, int) else -1 for d in spec.shape]}

    m = model.manifest
    return {"name": m.name, "versions": registry.versions(m.name), "platform": "onnxruntime_onnx",
            "inputs": [tensor(s) for s in m.inputs.values()], "outputs": [tensor(m.outputs["image"])]}


@router.get("/v2/models/{name}")
@router.get("/v2/models/{name}/versions/{version}")
async def model_metadata(name: str, request: Request, version: str | None = None) -> dict[str, Any]:
    """Tensor names, datatypes and shapes (-1 = any size)."""
    registry = get_service(request).registry
    return _metadata(registry.get(name, version), registry)


@router.get("/v2/models/{name}/ready")
@router.get("/v2/models/{name}/versions/{version}/ready")
async def model_ready(name: str, request: Request, version: str | None = None) -> dict[str, Any]:
    """200 when the model is loaded and warm (404 if it is not served)."""
    service = get_service(request)
    model = service.registry.get(name, version)
    return {"name": model.name, "version": model.version, "ready": service.lifecycle.ready}


def to_feeds(model: ServedModel, body: InferRequest, max_rows: int) -> dict[str, np.ndarray]:
    """Validate v2 input tensors against the manifest and turn them into feeds; InvalidRequest says what is wrong."""
    m = model.manifest
    specs = {spec.name: (role, spec) for role, spec in m.inputs.items()}
    given = [t.name for t in body.inputs]
    if sorted(given) != sorted(specs):
        raise InvalidRequest(f"inputs are {given}; model {m.name!r} takes exactly {sorted(specs)}")
    feeds: dict[str, np.ndarray] = {}
    for tensor in body.inputs:
        role, spec = specs[tensor.name]
        want = DATATYPES[spec.dtype]
        if tensor.datatype != want:
            raise InvalidRequest(f"input {tensor.name!r} has datatype {tensor.datatype}; the model takes {want}")
        if len(tensor.shape) != len(spec.shape) or any(d < 1 for d in tensor.shape) or any(
                isinstance(w, int) and d != w for d, w in zip(tensor.shape[1:], spec.shape[1:], strict=True)):
            want_shape = [d if isinstance(d, int) else -1 for d in spec.shape]
            raise InvalidRequest(f"input {tensor.name!r} has shape {tensor.shape}; the model takes {want_shape}")
        if tensor.shape[0] > max_rows:
            raise InvalidRequest(f"input {tensor.name!r} has {tensor.shape[0]} rows; the limit is {max_rows}")
        try:
            raw = np.asarray(tensor.data)
        except ValueError:
            raise InvalidRequest(f"input {tensor.name!r}: data must be a flat or nested list of numbers") from None
        if raw.dtype.kind not in ("i", "u", "f") or (want == "INT64" and raw.dtype.kind == "f"):
            kind = "integers" if want == "INT64" else "numbers"
            raise InvalidRequest(f"input {tensor.name!r}: data must hold {kind}")
        if raw.size != int(np.prod(tensor.shape)):
            raise InvalidRequest(f"input {tensor.name!r}: shape {tensor.shape} needs {int(np.prod(tensor.shape))} "
                                 f"values, data has {raw.size}")
        array = raw.astype(spec.dtype).reshape(tensor.shape)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InvalidRequest(f"input {tensor.name!r} holds NaN or infinite values (or values too large for "
                                 f"{want})")
        if role is Role.label and m.kind is Kind.conditional and (
                array.min() < 0 or array.max() >= (m.num_classes or 0)):
            raise InvalidRequest(f"input {tensor.name!r}: class indices must be in 0..{(m.num_classes or 0) - 1}")
        feeds[tensor.name] = array
    if len({a.shape[0] for a in feeds.values()}) != 1:
        raise InvalidRequest("every input must have the same batch size (first dimension)")
    return feeds


def _response(model: ServedModel, request_id: str | None, rows: list[np.ndarray]) -> bytes:
    out = np.stack(rows)
    payload: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if request_id is not None:
        payload["id"] = request_id
    payload["outputs"] = [{"name": model.manifest.outputs["image"].name, "datatype": "FP32",
                           "shape": list(out.shape), "data": out.astype(np.float32).ravel().tolist()}]
    return json.dumps(payload).encode()


def _prepare(model: ServedModel, raw: bytes, max_rows: int) -> tuple[str | None, dict[str, np.ndarray]]:
    """(request id, feeds) from the raw body: JSON parsing and array building, for a worker thread."""
    body = parse_json(raw, InferRequest)
    output = model.manifest.outputs["image"].name
    for wanted in body.outputs or []:
        if wanted.name != output:
            raise InvalidRequest(f"unknown output {wanted.name!r}; the model has {[output]}")
    return body.id, to_feeds(model, body, max_rows)


async def _infer(service: Service, model: ServedModel, request: Request) -> Response:
    model.batcher.ensure_room(1)  # refuse a full queue before reading and parsing up to 64 MiB of JSON
    raw = await read_json_body(request, _BODY_LIMIT)
    request_id, feeds = await asyncio.to_thread(_prepare, model, raw, service.settings.max_images_per_request)
    rows = await unless_disconnected(request, model.batcher.run(feeds, None, service.timeout(None)))
    return json_bytes_response(await asyncio.to_thread(_response, model, request_id, rows))


_OPENAPI = {"requestBody": {"content": {"application/json": {"schema": InferRequest.model_json_schema()}}}}


@router.post("/v2/models/{name}/infer", response_class=Response, openapi_extra=_OPENAPI)
async def infer(name: str, request: Request) -> Response:
    """Run the model on JSON tensors (latest version)."""
    service = get_service(request)
    return await _infer(service, service.registry.get(name), request)


@router.post("/v2/models/{name}/versions/{version}/infer", response_class=Response, openapi_extra=_OPENAPI,
             name="infer")  # the route name is the `endpoint` metrics label: one for both infer paths
async def infer_version(name: str, version: str, request: Request) -> Response:
    """Run one version of the model on JSON tensors."""
    service = get_service(request)
    return await _infer(service, service.registry.get(name, version), request)
