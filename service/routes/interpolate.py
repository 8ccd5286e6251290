"""POST /v1/models/{name}/interpolate: images along a path through the noise from one seed to another.

    curl -s localhost:8000/v1/models/dcgan-mnist/interpolate -H 'Content-Type: application/json' \
         -d '{"seeds": [3, 11], "steps": 8, "method": "slerp"}'

The end points are exactly the noise of `seeds[0]` and `seeds[1]`, so the first and last images equal
those seeds' images from /generate. The steps go through the model's batcher like any other items.
Class labels are indices, not vectors, so a conditional walk cannot blend two classes: it shows class
`labels[0]` for t < 0.5 and `labels[1]` from t = 0.5 on, while the noise moves smoothly.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import generator_feeds
from service.encoding import check_answer_size
from service.generation import provenance, require_generator, resolve_labels
from service.http import read_json
from service.noise import path_noise
from service.responder import make_answer, representation, respond
from service.schemas import InterpolateRequest
from service.state import get_service

router = APIRouter(tags=["generate"])

_BODY_LIMIT = 64 * 1024
_OPENAPI = {
    "requestBody": {"content": {"application/json": {"schema": InterpolateRequest.model_json_schema()}}},
    "responses": {
        "200": {
            "content": {
                "application/json": {},
                "image/png": {},
                "image/jpeg": {},
                "image/webp": {},
                "application/x-npy": {},
            },
            "description": '{"model", "version", "images": [{"<format>", "t", "label"}]}, one grid '
            "picture, or the (steps, H, W, C) uint8 tensor",
        }
    },
}


@router.post("/v1/models/{name}/interpolate", response_class=Response, openapi_extra=_OPENAPI)
async def interpolate(name: str, request: Request) -> Response:
    """`steps` images on a slerp/lerp path between two seeds (and classes); JSON by default, an image Accept gives
    one grid, `application/x-npy` the (steps, H, W, C) uint8 tensor."""
    service = get_service(request)
    body = await read_json(request, InterpolateRequest, _BODY_LIMIT)
    model = service.registry.get(name, body.version)
    manifest = require_generator(model)
    rep = representation(request, body.format, body.quality)
    image = manifest.image
    check_answer_size(rep, body.steps, (image.channels, image.height, image.width), service.settings.max_answer_bytes)
    model.batcher.ensure_room(body.steps)  # refuse before building the path's noise, as generate does
    ts, noise = path_noise(
        body.seeds,
        steps=body.steps,
        method=body.method,
        truncation=body.truncation,
        latent_dim=manifest.latent_dim or 0,
    )
    ends = resolve_labels(manifest, body.labels, body.seeds)
    labels = None if ends is None else np.where(ts < 0.5, ends[0], ends[1]).astype(np.int64)
    label_list = labels.tolist() if labels is not None else [None] * body.steps
    seeds = f"{body.seeds[0]},{body.seeds[1]}"
    texts = (
        [
            provenance(model, label=lab, truncation=body.truncation, seeds=seeds, method=body.method, t=f"{t:.6g}")
            for t, lab in zip(ts, label_list, strict=True)
        ]
        if rep.json
        else []
    )
    text = provenance(model, truncation=body.truncation, seeds=seeds, method=body.method, steps=str(body.steps))
    if labels is not None:
        text["labels"] = ",".join(str(x) for x in label_list)
    answer = make_answer(
        service,
        model,
        rep,
        body.steps,
        texts=texts,
        text=text,
        meta=[{"t": float(t), "label": lab} for t, lab in zip(ts, label_list, strict=True)],
    )
    feeds = generator_feeds(manifest, noise, labels)
    return await respond(request, model, feeds, answer, service.timeout(body.deadline_ms))
