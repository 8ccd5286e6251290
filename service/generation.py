"""Turning seeds, labels and truncation into batcher items and PNGs: shared by generate, interpolate and images.

    model = service.registry.get("dcgan-mnist")
    labels = resolve_labels(model.manifest, body.labels, seeds)
    noise = seeded_noise(seeds, model.manifest.latent_dim, truncation)
    pngs = await render_pngs(model, noise, labels, [png_text(model, seed=s, ...) for s in seeds], timeout=10.0)

Encoding runs in the batcher's worker thread right after inference (one thread hop per batch, not per image).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from service.adapters import generator_feeds, output_nchw
from service.batcher import Finish
from service.codecs import b64encode, encode_png, grid, to_uint8
from service.context import ENCODE, staged
from service.errors import InvalidRequest, WrongKind
from service.manifest import Kind, Manifest
from service.registry import ServedModel
from service.schemas import Label


def require_generator(model: ServedModel) -> Manifest:
    m = model.manifest
    if m.kind is Kind.translation:
        raise WrongKind(f"model {m.name!r} is an image-to-image translator: POST an image to "
                        f"/v1/models/{m.name}/translate instead")
    return m


def resolve_labels(manifest: Manifest, labels: Label | list[Label] | tuple[Label, ...] | None,
                   seeds: Sequence[int]) -> np.ndarray | None:
    """(n,) int64 class indices for a conditional model, or None for an unconditional one.

    Accepts an index or a class name, one for all images or one per image. Without labels, image i gets
    class seeds[i] % num_classes, so it is still reproducible from its seed alone.
    """
    n = len(seeds)
    if manifest.kind is not Kind.conditional:
        if labels is not None:
            raise InvalidRequest(f"model {manifest.name!r} is unconditional: it takes no 'labels'")
        return None
    num_classes = manifest.num_classes or 0
    if labels is None:
        return np.asarray(seeds, dtype=np.int64) % num_classes
    items = list(labels) if isinstance(labels, list | tuple) else [labels] * n
    if len(items) not in (1, n):
        raise InvalidRequest(f"'labels' has {len(items)} entries; give one for all images or one per image ({n})")
    if len(items) == 1:
        items = items * n
    names = {name: i for i, name in enumerate(manifest.class_names or [])}
    out = np.empty(n, dtype=np.int64)
    for i, label in enumerate(items):
        if isinstance(label, bool):
            raise InvalidRequest("labels must be class indices or class names, not booleans")
        if isinstance(label, str):
            if label not in names:
                raise InvalidRequest(f"unknown class {label!r}; classes are {manifest.class_names}")
            out[i] = names[label]
        elif 0 <= label < num_classes:
            out[i] = label
        else:
            raise InvalidRequest(f"class index {label} out of range: use 0..{num_classes - 1} "
                                 f"or a name from {manifest.class_names}")
    return out


def png_text(model: ServedModel, *, seed: int | None = None, label: int | None = None,
             truncation: float | None = None, **extra: str) -> dict[str, str]:
    """The provenance tEXt chunks of one PNG: model, version, and seed/label/truncation where they apply."""
    text = {"model": model.name, "version": model.version}
    if seed is not None:
        text["seed"] = str(seed)
    if label is not None:
        names = model.manifest.class_names
        text["label"] = names[label] if names else str(label)
    if truncation is not None:
        text["truncation"] = repr(float(truncation))
    return text | extra


def png_finisher(model: ServedModel, texts: Sequence[dict[str, str]], base64: bool = False) -> Finish:
    """Output rows -> PNG bytes (or their base64 text), row i of the request tagged with texts[i]."""
    manifest = model.manifest
    encode_seconds = model.metrics.encode_duration

    def finish(rows: np.ndarray, start: int) -> list[bytes] | list[str]:
        started = time.perf_counter()
        pixels = to_uint8(output_nchw(manifest, rows), manifest.output_range)
        pngs = [encode_png(pixels[i], texts[start + i]) for i in range(len(pixels))]
        out = [b64encode(p) for p in pngs] if base64 else pngs
        encode_seconds.observe(time.perf_counter() - started)
        return out

    return finish


def pixel_finisher(model: ServedModel) -> Finish:
    """Output rows -> (H, W, C) uint8 arrays, for callers that compose them (e.g. a grid) before encoding."""
    manifest = model.manifest

    def finish(rows: np.ndarray, start: int) -> list[np.ndarray]:
        return list(to_uint8(output_nchw(manifest, rows), manifest.output_range))

    return finish


async def render_pngs(model: ServedModel, noise: np.ndarray, labels: np.ndarray | None,
                      texts: Sequence[dict[str, str]], timeout: float, base64: bool = False) -> list[Any]:
    """One PNG per noise row (with its label, for conditional models) through the model's batcher:
    bytes, or base64 text for JSON answers when `base64` is true."""
    feeds = generator_feeds(model.manifest, noise, labels)
    return await model.batcher.run(feeds, png_finisher(model, texts, base64), timeout)


async def render_grid(model: ServedModel, noise: np.ndarray, labels: np.ndarray | None, text: dict[str, str],
                      timeout: float) -> bytes:
    """All images as one PNG grid (for `Accept: image/png` with several images)."""
    feeds = generator_feeds(model.manifest, noise, labels)
    pixels = await model.batcher.run(feeds, pixel_finisher(model), timeout)
    return await asyncio.to_thread(staged(ENCODE, lambda: encode_png(grid(np.stack(pixels)), text)))
