"""GET /v1/models/{name}/images/{seed}.png: one seeded image at a stable URL, cacheable by browsers and CDNs.

    curl -sO localhost:8000/v1/models/cgan-mnist/images/42.png?label=7&truncation=0.8

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

from service.errors import InvalidRequest
from service.generation import png_text, render_pngs, require_generator, resolve_labels
from service.http import png_response, unless_disconnected
from service.noise import SEED_MAX, seeded_noise
from service.registry import ServedModel
from service.schemas import Label
from service.state import get_service

PINNED_CACHE = "max-age=31536000, immutable"
UNPINNED_MAX_AGE_S = 3600
# Part of every ETag: bump it when the PNG encoding changes, so caches drop bytes made the old way.
ENCODING_REVISION = "1"

router = APIRouter(tags=["generate"])


_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}, 304: {"description": "the cached copy is current"}}


# HEAD too: caches and `curl -I` revalidate with it (one route per method, so each has its own operation ID).
@router.get("/v1/models/{name}/images/{seed}.png", response_class=Response, responses=_RESPONSES)
@router.head("/v1/models/{name}/images/{seed}.png", response_class=Response, responses=_RESPONSES)
async def image(
    name: str,
    seed: Annotated[str, Path(description="integer in 0..2**32-1")],
    request: Request,
    label: Annotated[str | None, Query(description="class index or name (conditional models)")] = None,
    truncation: Annotated[float, Query(description="noise scale in (0, 1]")] = 1.0,
    version: Annotated[str | None, Query(description="pin a version: the answer is then immutable")] = None,
) -> Response:
    """The PNG for `seed` (with `label`, `truncation`): provenance chunks, strong ETag, Cache-Control."""
    service = get_service(request)
    model = service.registry.get(name, version)
    manifest = require_generator(model)
    assert manifest.latent_dim is not None  # generators always have one (manifest validation)
    seed_value = _seed(seed)
    if not 0.0 < truncation <= 1.0:
        raise InvalidRequest(f"truncation must be in (0, 1], got {truncation}")
    labels = resolve_labels(manifest, _label(label), [seed_value])
    label_value = None if labels is None else int(labels[0])
    tag = etag(model, seed_value, label_value, truncation)
    public = "private" if service.settings.api_key is not None else "public"
    cache = f"{public}, {PINNED_CACHE if version is not None else f'max-age={UNPINNED_MAX_AGE_S}'}"
    headers = {"ETag": tag, "Cache-Control": cache}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    noise = seeded_noise([seed_value], manifest.latent_dim, truncation)
    text = png_text(model, seed=seed_value, label=label_value, truncation=truncation)
    pngs = await unless_disconnected(
        request, render_pngs(model, noise, labels, [text], service.timeout(None)))
    return png_response(pngs[0], headers)


def etag(model: ServedModel, seed: int, label: int | None, truncation: float) -> str:
    """A strong validator: everything that determines the bytes, hashed."""
    key = f"{model.manifest.sha256}|{model.version}|{seed}|{label}|{truncation!r}|{ENCODING_REVISION}"
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
