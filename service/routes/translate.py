"""POST /v1/models/{name}/translate: image-to-image, from a multipart upload (field `image`) or base64 JSON."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import image_feeds, input_size
from service.codecs import b64decode, decode_upload
from service.errors import InvalidImage, MalformedRequest, UnsupportedMediaType, WrongKind
from service.generation import png_finisher, png_text
from service.http import (
    is_json,
    json_bytes_response,
    parse_json,
    png_response,
    read_body,
    unless_disconnected,
    wants_png,
)
from service.manifest import Kind
from service.registry import ServedModel
from service.schemas import TranslateRequest
from service.state import Service, get_service

router = APIRouter(tags=["translate"])

_OPENAPI = {
    "requestBody": {"content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
            "image": {"type": "string", "format": "binary"}, "version": {"type": "string"}}}},
        "application/json": {"schema": TranslateRequest.model_json_schema()},
    }},
    "responses": {"200": {"content": {"image/png": {}, "application/json": {}},
                          "description": '{"model", "version", "images": [{"png"}]} or the PNG'}},
}


async def _upload(request: Request, service: Service) -> tuple[bytes, str | None, int | None]:
    """(image bytes, version, deadline_ms) from either body form."""
    limit = service.settings.max_upload_bytes
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        await read_body(request, limit + 64 * 1024)  # multipart framing on top of the image itself
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception as e:  # python-multipart / starlette raise several types for broken framing
            raise MalformedRequest(f"could not parse the multipart body: {e}") from None
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise MalformedRequest("send the image as a file in the multipart field 'image'")
        version = form.get("version")
        data = await upload.read()
        await form.close()
        return data, version if isinstance(version, str) else None, None
    if is_json(request):
        body = parse_json(await read_body(request, limit * 4 // 3 + 4096), TranslateRequest)
        return b64decode(body.image, "image"), body.version, body.deadline_ms
    raise UnsupportedMediaType("send the image as multipart/form-data (field 'image') or JSON {\"image\": <base64>}")


def _decode(model: ServedModel, data: bytes, service: Service) -> dict[str, np.ndarray]:
    m = model.manifest
    want = m.input_image
    assert want is not None  # the manifest guarantees it for translation models
    image = decode_upload(data, channels=want.channels, size=input_size(m),
                          value_range=m.input_range, max_bytes=service.settings.max_upload_bytes,
                          max_pixels=service.settings.max_upload_pixels)
    if image.shape[2] < 4 or image.shape[3] < 4:
        raise InvalidImage(f"image is {image.shape[3]}x{image.shape[2]} pixels; it must be at least 4x4")
    return image_feeds(m, image)


@router.post("/v1/models/{name}/translate", response_class=Response, openapi_extra=_OPENAPI)
async def translate(name: str, request: Request) -> Response:
    """Translate one image; answers a PNG with `Accept: image/png`, else JSON with base64 PNG."""
    service = get_service(request)
    data, version, deadline_ms = await _upload(request, service)
    model = service.registry.get(name, version)
    if model.manifest.kind is not Kind.translation:
        raise WrongKind(f"model {name!r} is a generator: POST JSON to /v1/models/{name}/generate instead")
    feeds = await asyncio.to_thread(_decode, model, data, service)
    as_png = wants_png(request)
    finish = png_finisher(model, [png_text(model)], base64=not as_png)
    out = await unless_disconnected(request, model.batcher.run(feeds, finish, service.timeout(deadline_ms)))
    if as_png:
        return png_response(out[0])
    return json_bytes_response(json.dumps({"model": model.name, "version": model.version,
                                           "images": [{"png": out[0]}]}).encode())
