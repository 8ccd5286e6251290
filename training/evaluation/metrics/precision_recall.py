"""Improved precision and recall (Kynkäänniemi et al., 2019) with k = 3 on the digit-classifier features.

Each set's manifold is the union of balls around its points, each ball reaching its k-th nearest neighbour in the
same set. Precision: the share of generated samples inside the real manifold (are they realistic?). Recall: the
share of real samples inside the generated manifold (is the variety covered? mode collapse lowers it).
"""

from __future__ import annotations

import numpy as np

from training.evaluation.embedding import Embedding

K = 3


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest neighbour in x, itself excluded."""
    d = _sq_dists(x, x)
    return np.partition(d, k, axis=1)[:, k]  # column 0 of the order is the point itself (distance 0)


def _coverage(queries: np.ndarray, support: np.ndarray, k: int) -> float:
    """Share of queries inside at least one k-NN ball of the support set."""
    inside = _sq_dists(queries, support) <= _radii(support, k)[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(fake: Embedding, real: Embedding) -> dict[str, float]:
    if min(len(fake), len(real)) <= K:
        raise ValueError(f"precision/recall with k={K} needs more than {K} samples per set")
    return {
        "precision": _coverage(fake.features, real.features, K),
        "recall": _coverage(real.features, fake.features, K),
    }
