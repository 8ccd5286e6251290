"""GET /v1/models/{name}/images/{seed}.{png,jpg,webp,npy}: one seeded image at a stable URL, cacheable by browsers
and CDNs.

    curl -sO localhost:8000/v1/models/cgan-mnist/images/42.png?label=7&truncation=0.8
    curl -sO 'localhost:8000/v1/models/cgan-mnist/images/42.webp?label=7&quality=80'

Seeded generation is deterministic, so the URL (plus the model version's sha256) fixes the bytes. The strong
ETag is computed from those parameters alone, so a matching If-None-Match gets 304 without running the model.
The image equals image 0 of `POST /generate {"n": 1, "seed": S, "labels": L, "truncation": T}`, byte for byte.

Caching: a URL that pins `?version=` names the same bytes forever (`immutable`, one year). Without it the URL
follows the newest version, so shared caches keep it only for `UNPINNED_MAX_AGE_S` and then revalidate (a 304
that costs no inference). With an API key configured the answer is `private`: a shared cache must not hand a
protected image to clients without the key.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from service.adapters import generator_feeds
from service.errors import InvalidRequest
from service.formats import LOSSY, Format
from service.generation import provenance, require_generator, resolve_labels
from service.negotiation import Representation
from service.noise import SEED_MAX, seeded_noise
from service.registry import ServedModel
from service.responder import make_answer, respond
from service.schemas import Label
from service.state import get_service

PINNED_CACHE = "max-age=31536000, immutable"
UNPINNED_MAX_AGE_S = 3600
# Part of every ETag: bump it when this code's way of encoding changes, so caches drop bytes made the old way
# (the settings and library versions that fix the bytes are in it too: Codec.identity).
ENCODING_REVISION = "3"
EXTENSIONS = {"png": Format.png, "jpg": Format.jpeg, "jpeg": Format.jpeg, "webp": Format.webp, "npy": Format.npy}

router = APIRouter(tags=["generate"])


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/x-npy": {}}},
    304: {"description": "the cached copy is current"},
}


# HEAD too: caches and `curl -I` revalidate with it (one route per method, so each has its own operation ID).
@router.get("/v1/models/{name}/images/{seed}.{ext}", response_class=Response, responses=_RESPONSES)
@router.head("/v1/models/{name}/images/{seed}.{ext}", response_class=Response, responses=_RESPONSES)
async def image(
    name: str,
    seed: Annotated[str, Path(description="integer in 0..2**32-1")],
    ext: Annotated[str, Path(description="png, jpg (or jpeg), webp, or npy for the (1, H, W, C) uint8 tensor")],
    request: Request,
    label: Annotated[str | None, Query(description="class index or name (conditional models)")] = None,
    truncation: Annotated[float, Query(description="noise scale in (0, 1]")] = 1.0,
    version: Annotated[str | None, Query(description="pin a version: the answer is then immutable")] = None,
    quality: Annotated[int | None, Query(ge=1, le=100, description="jpg/webp quality")] = None,
) -> Response:
    """The picture for `seed` (with `label`, `truncation`) in the format its extension names: provenance inside
    and in headers, strong ETag, Cache-Control."""
    service = get_service(request)
    model = service.registry.get(name, version)
    manifest = require_generator(model)
    assert manifest.latent_dim is not None  # generators always have one (manifest validation)
    seed_value = _seed(seed)
    if ext not in EXTENSIONS:
        raise InvalidRequest(f"unknown extension .{ext}: use {', '.join('.' + e for e in EXTENSIONS)}")
    fmt = EXTENSIONS[ext]
    if quality is not None and fmt not in LOSSY:
        raise InvalidRequest(f"quality applies to .jpg and .webp only, not .{ext}")
    if not 0.0 < truncation <= 1.0:
        raise InvalidRequest(f"truncation must be in (0, 1], got {truncation}")
    labels = resolve_labels(manifest, _label(label), [seed_value])
    label_value = None if labels is None else int(labels[0])
    rep = Representation(fmt, json=False, quality=quality)
    tag = etag(model, seed_value, label_value, truncation, service.codec.identity(fmt, quality))
    public = "private" if service.settings.api_key is not None else "public"
    cache = f"{public}, {PINNED_CACHE if version is not None else f'max-age={UNPINNED_MAX_AGE_S}'}"
    headers = {"ETag": tag, "Cache-Control": cache}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    noise = seeded_noise([seed_value], manifest.latent_dim, truncation)
    text = provenance(model, seed=seed_value, label=label_value, truncation=truncation)
    answer = make_answer(service, model, rep, 1, texts=[text], text=text)
    return await respond(
        request, model, generator_feeds(manifest, noise, labels), answer, service.timeout(None), headers
    )


def etag(model: ServedModel, seed: int, label: int | None, truncation: float, codec: str) -> str:
    """A strong validator: everything that determines the bytes, hashed; `codec` is `Codec.identity`'s answer."""
    key = f"{model.manifest.sha256}|{model.version}|{seed}|{label}|{truncation!r}|{ENCODING_REVISION}|{codec}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _seed(text: str) -> int:
    if not text.isdigit() or int(text) > SEED_MAX:
        raise InvalidRequest(f"seed must be an integer in 0..{SEED_MAX}, got {text!r}")
    return int(text)


def _label(text: str | None) -> Label | None:
    """A class from the query string: digits are an index, anything else a class name."""
    if text is None or text == "":
        return None
    return int(text) if text.isdigit() else text


def _matches(header: str | None, tag: str) -> bool:
    """If-None-Match: `*` or a list of tags; weak tags compare by their opaque part (RFC 9110 weak comparison)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))
