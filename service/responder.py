"""The one responder: negotiate the representation once, hand its encoder to the pipeline, answer with the bytes.

    rep = representation(request, body.format, body.quality)          # 406 / 422 before any work
    check_answer_size(rep, n, image_shape, settings.max_answer_bytes)   # 413 before anything is queued
    answer = make_answer(service, model, rep, n, texts=texts, meta=meta, text=text)
    return await respond(request, model, feeds, answer, timeout)

generate, interpolate, images and translate all answer through here: the model's batcher runs inference, the
encode stage runs `answer.rows` and `answer.body` (service.encoding), and the response carries the answer's
provenance in headers (`X-Model`, `X-Model-Version`, `X-Seed`, ...) whatever the format.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import output_nchw
from service.encoding import Answer
from service.http import unless_disconnected
from service.negotiation import OFFERS, Representation, negotiate
from service.registry import ServedModel
from service.state import Service

_HEADER_NAMES = {"model": "X-Model", "version": "X-Model-Version"}


def representation(
    request: Request, fmt: str | None = None, quality: int | None = None, offers: Sequence[str] = OFFERS
) -> Representation:
    """What this request gets, from its Accept header and its format/quality fields."""
    return negotiate(request.headers.get("accept"), fmt, quality, offers)


def make_answer(
    service: Service,
    model: ServedModel,
    rep: Representation,
    n: int,
    *,
    texts: Sequence[Mapping[str, str]] = (),
    meta: Sequence[Mapping[str, Any]] = (),
    text: Mapping[str, str],
) -> Answer:
    """The encoder for n images of `model` in `rep`, with this server's codec settings."""
    m = model.manifest
    return Answer(
        rep,
        service.codec,
        m.output_range,
        n,
        texts,
        meta,
        {"model": model.name, "version": model.version},
        text,
        adapt=functools.partial(output_nchw, m),
    )


def provenance_headers(text: Mapping[str, str]) -> dict[str, str]:
    """{"model": "m", "seed": "3"} -> {"X-Model": "m", "X-Seed": "3"}; values kept to what a header can carry."""
    return {
        _HEADER_NAMES.get(k, f"X-{k.title()}"): v.encode("latin-1", "replace").decode("latin-1")
        for k, v in text.items()
    }


async def respond(
    request: Request,
    model: ServedModel,
    feeds: dict[str, np.ndarray],
    answer: Answer,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Run the request through the model's two stages and answer with what the encoder made."""
    run = model.batcher.run(feeds, answer.rows, timeout, complete=answer.body)
    body: bytes = await unless_disconnected(request, run)
    return Response(body, media_type=answer.media_type, headers=provenance_headers(answer.text) | dict(headers or {}))
