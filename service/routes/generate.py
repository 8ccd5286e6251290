"""POST /v1/models/{name}/generate: seeded (optionally class-conditional) generation, as JSON, a picture or a tensor.

curl -s localhost:8000/v1/models/dcgan-mnist/generate -H 'Content-Type: application/json' -d '{"n": 4, "seed": 1}'
curl -s ... -H 'Accept: image/webp' -d '{"n": 16, "quality": 80}' -o grid.webp
curl -s ... -H 'Accept: application/x-npy' -d '{"n": 16}' -o images.npy     # (16, H, W, C) uint8
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import generator_feeds
from service.encoding import check_answer_size
from service.errors import InvalidRequest
from service.formats import Format
from service.generation import provenance, require_generator, resolve_labels
from service.http import read_json
from service.noise import SEED_MAX, draw_seed, seeded_noise
from service.responder import make_answer, representation, respond
from service.schemas import GenerateRequest
from service.state import get_service

router = APIRouter(tags=["generate"])

_BODY_LIMIT = 64 * 1024
_OPENAPI = {
    "requestBody": {"content": {"application/json": {"schema": GenerateRequest.model_json_schema()}}},
    "responses": {
        "200": {
            "content": {
                "application/json": {},
                "image/png": {},
                "image/jpeg": {},
                "image/webp": {},
                "application/x-npy": {},
            },
            "description": '{"model", "version", "images": [{"<format>", "seed", "label"}]}, one '
            "picture (a grid when n > 1), or the (n, H, W, C) uint8 tensor",
        }
    },
}


@router.post("/v1/models/{name}/generate", response_class=Response, openapi_extra=_OPENAPI)
async def generate(name: str, request: Request) -> Response:
    """Generate `n` images; image i uses seed+i. JSON by default (pictures in `format`); an image Accept gives one
    picture (a grid when n > 1), `application/x-npy` the raw (n, H, W, C) uint8 tensor."""
    service = get_service(request)
    body = await read_json(request, GenerateRequest, _BODY_LIMIT)
    model = service.registry.get(name, body.version)
    manifest = require_generator(model)
    n, limit = body.n, service.settings.max_images_per_request
    if n > limit:
        raise InvalidRequest(f"n={n} is over this server's limit of {limit} images per request")
    rep = representation(request, body.format, body.quality)
    image = manifest.image
    check_answer_size(rep, n, (image.channels, image.height, image.width), service.settings.max_answer_bytes)
    model.batcher.ensure_room(n)  # a refusal must stay cheap: the noise and texts below cost ~1 ms for 64 images
    seed = draw_seed(n) if body.seed is None else body.seed
    if seed + n - 1 > SEED_MAX:
        raise InvalidRequest(f"seed {seed} + n - 1 exceeds {SEED_MAX}: every image's seed (seed+i) must fit in 32 bits")
    seeds = range(seed, seed + n)
    labels = resolve_labels(manifest, body.labels, seeds)
    noise = seeded_noise(seeds, manifest.latent_dim or 0, body.truncation)
    label_list = labels.tolist() if labels is not None else [None] * n
    per_image = rep.json or (n == 1 and rep.format is not Format.npy)  # a picture per image, each tagged
    texts = (
        [
            provenance(model, seed=s, label=lab, truncation=body.truncation)
            for s, lab in zip(seeds, label_list, strict=True)
        ]
        if per_image
        else []
    )
    text = provenance(model, seed=seed, label=label_list[0] if n == 1 else None, truncation=body.truncation)
    if n > 1:
        text["seeds"] = f"{seed}-{seed + n - 1}"
        if labels is not None:
            text["labels"] = ",".join(str(x) for x in label_list)
    answer = make_answer(
        service,
        model,
        rep,
        n,
        texts=texts,
        text=text,
        meta=[{"seed": s, "label": lab} for s, lab in zip(seeds, label_list, strict=True)],
    )
    feeds = generator_feeds(manifest, noise, labels)
    return await respond(request, model, feeds, answer, service.timeout(body.deadline_ms), {"X-Seed": str(seed)})
