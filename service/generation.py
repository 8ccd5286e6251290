"""Turning seeds, labels and truncation into batcher items and provenance: shared by generate, interpolate, images.

    model = service.registry.get("dcgan-mnist")
    labels = resolve_labels(model.manifest, body.labels, seeds)
    noise = seeded_noise(seeds, model.manifest.latent_dim, truncation)
    feeds = generator_feeds(model.manifest, noise, labels)
    texts = [provenance(model, seed=s, label=l, truncation=truncation) for s, l in ...]

Answers are encoded by the pipeline (service.responder, service.encoding), not here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.errors import InvalidRequest, WrongKind
from service.manifest import Kind, Manifest
from service.registry import ServedModel
from service.schemas import Label


def require_generator(model: ServedModel) -> Manifest:
    m = model.manifest
    if m.kind is Kind.translation:
        raise WrongKind(
            f"model {m.name!r} is an image-to-image translator: POST an image to /v1/models/{m.name}/translate instead"
        )
    return m


def resolve_labels(
    manifest: Manifest, labels: Label | list[Label] | tuple[Label, ...] | None, seeds: Sequence[int]
) -> np.ndarray | None:
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
            raise InvalidRequest(
                f"class index {label} out of range: use 0..{num_classes - 1} or a name from {manifest.class_names}"
            )
    return out


def provenance(
    model: ServedModel,
    *,
    seed: int | None = None,
    label: int | None = None,
    truncation: float | None = None,
    **extra: str,
) -> dict[str, str]:
    """Where an image comes from: model, version, and seed/label/truncation where they apply. It travels in every
    format that can carry it (PNG tEXt chunks, JPEG/WebP EXIF) and in the response headers."""
    text = {"model": model.name, "version": model.version}
    if seed is not None:
        text["seed"] = str(seed)
    if label is not None:
        names = model.manifest.class_names
        text["label"] = names[label] if names else str(label)
    if truncation is not None:
        text["truncation"] = repr(float(truncation))
    return text | extra
