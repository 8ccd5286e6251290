"""Seeded latent noise: image i of a request with seed s uses seed s+i, independent of batching.

    z_i = np.random.default_rng(s + i).standard_normal(latent_dim, dtype=float32) * truncation
"""

from __future__ import annotations

import random

import numpy as np

SEED_MAX = 2**32 - 1


_seeds = random.Random()  # seeded once from os.urandom; seeds need to differ, not to be secret


def draw_seed(n: int) -> int:
    """A random first seed such that all n per-image seeds stay in [0, SEED_MAX]."""
    return _seeds.randrange(SEED_MAX - n + 2)


def seeded_noise(seeds: list[int] | range, latent_dim: int, truncation: float = 1.0) -> np.ndarray:
    """(len(seeds), latent_dim) float32; row i depends only on seeds[i] (and truncation)."""
    out = np.empty((len(seeds), latent_dim), dtype=np.float32)
    for i, seed in enumerate(seeds):
        # Generator(PCG64(seed)) is exactly default_rng(seed), without its argument dispatch
        out[i] = np.random.Generator(np.random.PCG64(seed)).standard_normal(latent_dim, dtype=np.float32)
    if truncation != 1.0:
        out *= np.float32(truncation)
    return out
