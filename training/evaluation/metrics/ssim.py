"""Structural similarity (Wang et al., 2004) of each translated image against its ground truth.

The reference recipe: images scaled to [0, 1] (so L = 1), an 11x11 Gaussian window with sigma 1.5, C1 = (0.01 L)^2,
C2 = (0.03 L)^2, the SSIM map over the 'valid' window positions (18x18 on 28x28 digits), averaged per image and
then over images.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from training.evaluation.embedding import Embedding

WINDOW, SIGMA = 11, 1.5
C1, C2 = 0.01**2, 0.03**2


def _gaussian() -> np.ndarray:
    x = np.arange(WINDOW) - WINDOW // 2
    g = np.exp(-(x**2) / (2 * SIGMA**2))
    return g / g.sum()


def _filter(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter over the last two axes, 'valid' positions only: (N, H, W) -> (N, H-10, W-10)."""
    g = _gaussian()
    x = sliding_window_view(x, WINDOW, axis=2) @ g
    return sliding_window_view(x, WINDOW, axis=1) @ g


def ssim_per_image(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x, y (N, H, W) float in [0, 1] -> (N,) mean SSIM of each pair."""
    if x.shape != y.shape or x.ndim != 3 or min(x.shape[1:]) < WINDOW:
        raise ValueError(f"SSIM needs two (N, H, W) stacks of one shape, H, W >= {WINDOW}; got {x.shape}, {y.shape}")
    x, y = x.astype(np.float64), y.astype(np.float64)
    mx, my = _filter(x), _filter(y)
    vx = _filter(x * x) - mx * mx
    vy = _filter(y * y) - my * my
    cxy = _filter(x * y) - mx * my
    num = (2 * mx * my + C1) * (2 * cxy + C2)
    den = (mx * mx + my * my + C1) * (vx + vy + C2)
    return (num / den).mean(axis=(1, 2))


def to_unit(images: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) in [-1, 1] -> (N, H, W) in [0, 1]."""
    return np.clip((images[:, 0].astype(np.float64) + 1) / 2, 0, 1)


def ssim(fake: Embedding, real: Embedding) -> dict[str, float]:
    """fake: the translations; real: the ground truth, image i of one paired with image i of the other."""
    return {"ssim": float(ssim_per_image(to_unit(fake.images), to_unit(real.images)).mean())}
