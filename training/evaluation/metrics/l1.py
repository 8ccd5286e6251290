"""L1 distance of each translated image from its ground truth: the mean absolute pixel error on the [0, 1] scale."""

from __future__ import annotations

import numpy as np

from training.evaluation.embedding import Embedding
from training.evaluation.metrics.ssim import to_unit


def l1(fake: Embedding, real: Embedding) -> dict[str, float]:
    if fake.images.shape != real.images.shape:
        raise ValueError(f"L1 needs paired images of one shape, got {fake.images.shape} and {real.images.shape}")
    return {"l1": float(np.abs(to_unit(fake.images) - to_unit(real.images)).mean())}
