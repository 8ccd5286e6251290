"""Conditional accuracy: the share of images generated for label y that the digit classifier reads as y."""

from __future__ import annotations

from training.evaluation.embedding import Embedding


def conditional_accuracy(fake: Embedding, real: Embedding) -> dict[str, float]:
    del real
    if fake.labels is None:
        raise ValueError("conditional accuracy needs the requested label of every generated image")
    return {"conditional_accuracy": float((fake.predicted == fake.labels).mean())}
