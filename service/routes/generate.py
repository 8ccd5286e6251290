"""POST /v1/models/{name}/generate: seeded (optionally class-conditional) generation, JSON or PNG."""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service.errors import InvalidRequest
from service.generation import png_text, render_grid, render_pngs, require_generator, resolve_labels
from service.http import json_bytes_response, png_response, read_json, unless_disconnected, wants_png
from service.noise import SEED_MAX, draw_seed, seeded_noise
from service.schemas import GenerateRequest
from service.state import get_service

router = APIRouter(tags=["generate"])

_BODY_LIMIT = 64 * 1024
_OPENAPI = {
    "requestBody": {"content": {"application/json": {"schema": GenerateRequest.model_json_schema()}}},
    "responses": {"200": {"content": {"image/png": {}, "application/json": {}},
                          "description": '{"model", "version", "images": [{"png", "seed", "label"}]} or one PNG'}},
}


@router.post("/v1/models/{name}/generate", response_class=Response, openapi_extra=_OPENAPI)
async def generate(name: str, request: Request) -> Response:
    """Generate `n` images; image i uses seed+i. `Accept: image/png` returns one PNG (a grid when n > 1)."""
    service = get_service(request)
    body = await read_json(request, GenerateRequest, _BODY_LIMIT)
    model = service.registry.get(name, body.version)
    manifest = require_generator(model)
    n, limit = body.n, service.settings.max_images_per_request
    if n > limit:
        raise InvalidRequest(f"n={n} is over this server's limit of {limit} images per request")
    model.batcher.ensure_room(n)  # a refusal must stay cheap: the noise and PNG texts below cost ~1 ms for 64 images
    seed = draw_seed(n) if body.seed is None else body.seed
    if seed + n - 1 > SEED_MAX:
        raise InvalidRequest(f"seed {seed} + n - 1 exceeds {SEED_MAX}: every image's seed (seed+i) must fit in 32 bits")
    seeds = range(seed, seed + n)
    labels = resolve_labels(manifest, body.labels, seeds)
    noise = seeded_noise(seeds, manifest.latent_dim or 0, body.truncation)
    timeout = service.timeout(body.deadline_ms)
    label_list = labels.tolist() if labels is not None else [None] * n
    if wants_png(request):
        headers = {"X-Seed": str(seed)}
        if n == 1:
            text = png_text(model, seed=seed, label=label_list[0], truncation=body.truncation)
            pngs = await unless_disconnected(request, render_pngs(model, noise, labels, [text], timeout))
            return png_response(pngs[0], headers)
        extra = {"seeds": f"{seed}-{seed + n - 1}"}
        if labels is not None:
            extra["labels"] = ",".join(str(x) for x in label_list)
        text = png_text(model, seed=seed, truncation=body.truncation) | extra
        grid = await unless_disconnected(request, render_grid(model, noise, labels, text, timeout))
        return png_response(grid, headers)
    texts = [png_text(model, seed=s, label=lab, truncation=body.truncation)
             for s, lab in zip(seeds, label_list, strict=True)]
    pngs = await unless_disconnected(request, render_pngs(model, noise, labels, texts, timeout, base64=True))
    images = [{"png": png, "seed": s, "label": lab} for png, s, lab in zip(pngs, seeds, label_list, strict=True)]
    return json_bytes_response(json.dumps({"model": model.name, "version": model.version, "images": images}).encode())
