"""Fréchet distance between Gaussians fitted to the digit classifier's features.

This is the formula of FID (Heusel et al., 2017), but on the project's own 128-d digit-classifier features, not
on Inception: its values are not comparable with published FID numbers, so it is never called FID here.
"""

from __future__ import annotations

import numpy as np

from training.evaluation.embedding import Embedding


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_from_stats(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), with tr (S1 S2)^1/2 = tr (S1^1/2 S2 S1^1/2)^1/2, which
    stays symmetric positive semi-definite, so an eigendecomposition is exact and needs no scipy."""
    r1 = _sqrtm_psd(s1)
    w = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_sqrt = float(np.sqrt(np.clip(w, 0, None)).sum())
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def frechet_distance(fake: Embedding, real: Embedding) -> dict[str, float]:
    f, r = fake.features, real.features  # (N, D) each
    d = frechet_from_stats(f.mean(0), np.cov(f, rowvar=False), r.mean(0), np.cov(r, rowvar=False))
    return {"frechet_distance": max(d, 0.0)}
