"""Seeded latent noise: image i of a request with seed s uses seed s+i, independent of batching.

    z_i = np.random.default_rng(s + i).standard_normal(latent_dim, dtype=float32) * truncation
"""

from __future__ import annotations

import secrets

import numpy as np

SEED_MAX = 2**32 - 1


def draw_seed(n: int) -> int:
    """A random first seed such that all n per-image seeds stay in [0, SEED_MAX]."""
    return secrets.randbelow(SEED_MAX - n + 2)


def seeded_noise(seeds: list[int] | range, latent_dim: int, truncation: float = 1.0) -> np.ndarray:
    """(len(seeds), latent_dim) float32; row i depends only on seeds[i] (and truncation)."""
    out = np.empty((len(seeds), latent_dim), dtype=np.float32)
    for i, seed in enumerate(seeds):
        out[i] = np.random.default_rng(seed).standard_normal(latent_dim, dtype=np.float32)
    if truncation != 1.0:
        out *= np.float32(truncation)
    return out
