"""POST /v1/models/{name}/translate: image-to-image, from a multipart upload (field `image`) or base64 JSON."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import image_feeds, input_size
from service.codecs import b64decode, decode_upload
from service.errors import InvalidImage, InvalidRequest, MalformedRequest, UnsupportedMediaType, WrongKind
from service.forms import parse_multipart
from service.generation import provenance
from service.http import is_json, parse_json, read_body
from service.manifest import Kind
from service.registry import ServedModel
from service.responder import make_answer, representation, respond
from service.schemas import TranslateRequest
from service.state import Service, get_service

router = APIRouter(tags=["translate"])

_OPENAPI = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "version": {"type": "string"},
                        "format": {"type": "string", "enum": ["png", "jpeg", "webp"]},
                        "quality": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                }
            },
            "application/json": {"schema": TranslateRequest.model_json_schema()},
        }
    },
    "responses": {
        "200": {
            "content": {
                "application/json": {},
                "image/png": {},
                "image/jpeg": {},
                "image/webp": {},
                "application/x-npy": {},
            },
            "description": '{"model", "version", "images": [{"<format>"}]}, the picture, or the '
            "(1, H, W, C) uint8 tensor",
        }
    },
}


@dataclass(frozen=True)
class Upload:
    image: bytes | str  # the file's bytes (multipart) or its base64 text (JSON), decoded only once there is room
    version: str | None = None
    deadline_ms: int | None = None
    format: str | None = None  # of the picture in a JSON answer
    quality: int | None = None


async def _upload(request: Request, service: Service) -> Upload:
    """The image (still encoded), version and deadline from either body form; parsing runs in a thread."""
    limit = service.settings.max_upload_bytes
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        body = await read_body(request, limit + 64 * 1024)  # multipart framing on top of the image itself
        return await asyncio.to_thread(_from_multipart, body, ctype)
    if is_json(request):
        body = await read_body(request, limit * 4 // 3 + 4096)
        parsed = await asyncio.to_thread(parse_json, body, TranslateRequest)
        return Upload(parsed.image, parsed.version, parsed.deadline_ms, parsed.format, parsed.quality)
    raise UnsupportedMediaType("send the image as multipart/form-data (field 'image') or JSON {\"image\": <base64>}")


def _from_multipart(body: bytes, content_type: str) -> Upload:
    parts = parse_multipart(body, content_type, max_files=1, max_fields=8)
    image = parts.get("image")
    if image is None or image.filename is None:
        raise MalformedRequest("send the image as a file in the multipart field 'image'")
    fields = {
        k: p.text() for k in ("version", "format", "quality") if (p := parts.get(k)) is not None and p.filename is None
    }
    quality = fields.get("quality")
    if quality is not None and not (quality.isdigit() and 1 <= int(quality) <= 100):
        raise InvalidRequest(f"quality must be an integer in 1..100, got {quality!r}")
    return Upload(
        bytes(image.data),
        fields.get("version"),
        None,
        fields.get("format"),
        int(quality) if quality is not None else None,
    )


def _decode(model: ServedModel, upload: Upload, service: Service) -> dict[str, np.ndarray]:
    """The model's input feeds from the upload: base64 (JSON), then PNG/JPEG decoding and resizing."""
    data = b64decode(upload.image, "image") if isinstance(upload.image, str) else upload.image
    m = model.manifest
    want = m.input_image
    assert want is not None  # the manifest guarantees it for translation models
    image = decode_upload(
        data,
        channels=want.channels,
        size=input_size(m),
        value_range=m.input_range,
        max_bytes=service.settings.max_upload_bytes,
        max_pixels=service.settings.max_upload_pixels,
    )
    if image.shape[2] < 4 or image.shape[3] < 4:
        raise InvalidImage(f"image is {image.shape[3]}x{image.shape[2]} pixels; it must be at least 4x4")
    return image_feeds(m, image)


@router.post("/v1/models/{name}/translate", response_class=Response, openapi_extra=_OPENAPI)
async def translate(name: str, request: Request) -> Response:
    """Translate one image; JSON by default (the picture in `format`), an image Accept gives the picture itself,
    `application/x-npy` the (1, H, W, C) uint8 tensor."""
    service = get_service(request)
    upload = await _upload(request, service)
    model = service.registry.get(name, upload.version)
    if model.manifest.kind is not Kind.translation:
        raise WrongKind(f"model {name!r} is a generator: POST JSON to /v1/models/{name}/generate instead")
    rep = representation(request, upload.format, upload.quality)
    model.batcher.ensure_room(1)  # refuse before decoding: under overload most requests are refused
    feeds = await asyncio.to_thread(_decode, model, upload, service)
    text = provenance(model)
    answer = make_answer(service, model, rep, 1, texts=[text], text=text)
    return await respond(request, model, feeds, answer, service.timeout(upload.deadline_ms))
