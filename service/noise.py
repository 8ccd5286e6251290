"""Seeded latent noise: image i of a request with seed s uses seed s+i, independent of batching; and paths
through it between two seeds (slerp or lerp), for interpolation.

    z_i = np.random.default_rng(s + i).standard_normal(latent_dim, dtype=float32) * truncation
    ts, z = path_noise((3, 11), steps=8, method="slerp", truncation=1.0, latent_dim=64)   # z: (8, 64)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

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


Method = Literal["slerp", "lerp"]


def interpolate_noise(a: np.ndarray, b: np.ndarray, ts: np.ndarray, method: Method) -> np.ndarray:
    """(steps, latent) float32 between noise vectors `a` and `b` (latent,) at positions `ts` in [0, 1].

    slerp follows the great circle between the two directions (and blends the norms linearly), which keeps
    the samples at the radius where Gaussian noise lives; lerp cuts the chord, whose middle is shorter.
    """
    t = ts.astype(np.float64)[:, None]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if method == "lerp":
        return ((1.0 - t) * a64 + t * b64).astype(np.float32)
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    ua, ub = a64 / na, b64 / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # (anti)parallel: every great circle is as good, the chord is the honest answer
        return ((1.0 - t) * a64 + t * b64).astype(np.float32)
    direction = (np.sin((1.0 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    out: np.ndarray = (direction * ((1.0 - t) * na + t * nb)).astype(np.float32)
    return out


def path_noise(
    seeds: Sequence[int], *, steps: int, method: Method, truncation: float, latent_dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """(positions t (steps,), noise (steps, latent) scaled by truncation) from seeds[0] to seeds[1].

    The end points are exactly the seeds' own noise (not a rounding of it), so the first and last images equal
    those seeds' images from /generate.
    """
    ts = np.linspace(0.0, 1.0, steps)
    ends = seeded_noise(list(seeds), latent_dim, truncation)
    noise = interpolate_noise(ends[0], ends[1], ts, method)
    noise[0], noise[-1] = ends
    return ts, noise
