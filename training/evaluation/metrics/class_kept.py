"""Class kept: the share of translated digits that the digit classifier still reads as the input's class."""

from __future__ import annotations

from training.evaluation.embedding import Embedding


def class_kept(fake: Embedding, real: Embedding) -> dict[str, float]:
    del real
    if fake.labels is None:
        raise ValueError("class kept needs the true class of every translated input")
    return {"class_kept": float((fake.predicted == fake.labels).mean())}
