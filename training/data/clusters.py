"""k-means cluster labels for images, found without supervision (used by the self-conditioned GAN)."""

from __future__ import annotations

import torch


def kmeans(x: torch.Tensor, k: int, iters: int = 25, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """x (N, D) float -> (labels int64 (N,), centers (k, D)); k-means++ initialisation, Lloyd iterations."""
    if not 2 <= k <= len(x):
        raise ValueError(f"k must be between 2 and the number of points ({len(x)}), got {k}")
    gen = torch.Generator().manual_seed(seed)
    centers = x[torch.randint(len(x), (1,), generator=gen)]
    for _ in range(k - 1):  # k-means++: next center with probability ~ squared distance to the nearest one
        d2 = torch.cdist(x, centers).min(dim=1).values ** 2
        centers = torch.cat([centers, x[torch.multinomial(d2 / d2.sum(), 1, generator=gen)]])
    for _ in range(iters):
        labels = torch.cdist(x, centers).argmin(dim=1)
        for j in range(k):
            members = x[labels == j]
            if len(members):
                centers[j] = members.mean(dim=0)
    return torch.cdist(x, centers).argmin(dim=1), centers
