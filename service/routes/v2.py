"""The Open Inference Protocol (KServe v2) REST surface, through the same batchers as /v1.

    POST /v2/models/dcgan-mnist/infer
    {"inputs": [{"name": "z", "shape": [2, 64], "datatype": "FP32", "data": [...128 floats...]}]}
    -> {"model_name", "model_version",
        "outputs": [{"name": "image", "shape": [2, 1, 28, 28], "datatype": "FP32", "data": [...]}]}

Tensors may also travel as raw bytes after the JSON (the binary tensor data extension, tritonclient's default):
see service/v2_codec.py. Bodies are parsed and answers encoded in a worker thread, never on the event loop;
validation is service/oip.py's, shared with the gRPC surface.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service import oip
from service.context import ENCODE, staged
from service.errors import PayloadTooLarge, UnsupportedMediaType
from service.http import is_json, read_body, unless_disconnected
from service.registry import ServedModel
from service.state import Service, get_service
from service.v2_codec import HEADER_LENGTH, InferRequest, ParsedRequest, decompress, encode_response, parse_request

router = APIRouter(tags=["v2 (KServe Open Inference Protocol)"])

_BODY_LIMIT = 64 * 1024 * 1024
# Room per tensor value in a JSON body: a float32 written out in full, its separator and pretty-printing indentation
# (binary tensors take 8 bytes or fewer).
_BYTES_PER_VALUE = 64


@router.get("/v2")
async def server_metadata() -> dict[str, Any]:
    """Server name, version and protocol extensions."""
    return {"name": oip.SERVER_NAME, "version": oip.SERVER_VERSION, "extensions": oip.EXTENSIONS}


@router.get("/v2/models/{name}")
@router.get("/v2/models/{name}/versions/{version}")
async def model_metadata(name: str, request: Request, version: str | None = None) -> dict[str, Any]:
    """Tensor names, datatypes and shapes (-1 = any size)."""
    registry = get_service(request).registry
    return oip.metadata(registry.get(name, version), registry)


@router.get("/v2/models/{name}/ready")
@router.get("/v2/models/{name}/versions/{version}/ready")
async def model_ready(name: str, request: Request, version: str | None = None) -> dict[str, Any]:
    """200 when the model is loaded and warm (404 if it is not served)."""
    service = get_service(request)
    model = service.registry.get(name, version)
    return {"name": model.name, "version": model.version, "ready": service.lifecycle.ready}


def body_limit(model: ServedModel, max_rows: int) -> int:
    """The largest body that can hold a valid request for this model (64 MiB where a dimension is dynamic).

    Parsing JSON holds the GIL even in a worker thread (pydantic, json and numpy alike: ~35 ms per MB), so a body
    that cannot be valid is refused by its size, before it is parsed.
    """
    values = 0
    for spec in model.manifest.inputs.values():
        fixed = [d for d in spec.shape[1:] if isinstance(d, int)]
        if len(fixed) < len(spec.shape) - 1:
            return _BODY_LIMIT
        values += math.prod(fixed)  # a label's row is one value
    return min(_BODY_LIMIT, 64 * 1024 + max_rows * values * _BYTES_PER_VALUE)


def _parse(
    model: ServedModel, body: bytes, header_length: str | None, encoding: str | None, max_rows: int
) -> tuple[ParsedRequest, dict[str, Any]]:
    parsed = parse_request(decompress(body, encoding, body_limit(model, max_rows)), header_length)
    oip.check_outputs(model, parsed.outputs)
    return parsed, oip.to_feeds(model, parsed.tensors, max_rows)


def _answer(model: ServedModel, parsed: ParsedRequest, rows: list[Any]) -> Response:
    output = oip.output_name(model)
    binary = parsed.binary_outputs.get(output, parsed.binary_default)
    body, headers = encode_response(model.name, model.version, parsed.id, output, oip.output_array(rows), binary)
    return Response(body, headers=headers)


async def _infer(service: Service, model: ServedModel, request: Request) -> Response:
    header_length = request.headers.get(HEADER_LENGTH)
    if header_length is None and not is_json(request):
        raise UnsupportedMediaType(
            f"send the body as application/json, or JSON + binary tensors with the "
            f"Inference-Header-Content-Length header (got {request.headers['content-type']!r})"
        )
    model.batcher.ensure_room(1)  # under overload, refuse before paying for the parse
    max_rows = service.settings.max_images_per_request
    try:
        body = await read_body(request, body_limit(model, max_rows))
    except PayloadTooLarge as e:
        raise PayloadTooLarge(f"{e.message}: model {model.name!r} takes at most {max_rows} rows per request") from None
    parsed, feeds = await asyncio.to_thread(
        _parse, model, body, header_length, request.headers.get("content-encoding"), max_rows
    )
    work = model.batcher.run(feeds, None, service.timeout(parsed.deadline_ms))
    rows = await unless_disconnected(request, work)
    return await asyncio.to_thread(staged(ENCODE, lambda: _answer(model, parsed, rows)))


_OPENAPI = {"requestBody": {"content": {"application/json": {"schema": InferRequest.model_json_schema()}}}}


@router.post("/v2/models/{name}/infer", response_class=Response, openapi_extra=_OPENAPI)
async def infer(name: str, request: Request) -> Response:
    """Run the model on JSON or binary tensors (latest version)."""
    service = get_service(request)
    return await _infer(service, service.registry.get(name), request)


@router.post(
    "/v2/models/{name}/versions/{version}/infer", response_class=Response, openapi_extra=_OPENAPI, name="infer"
)  # the route name is the `endpoint` metrics label: one for both infer paths
async def infer_version(name: str, version: str, request: Request) -> Response:
    """Run one version of the model on JSON or binary tensors."""
    service = get_service(request)
    return await _infer(service, service.registry.get(name, version), request)
