"""Self-conditioned GAN (after Liu et al., 2020): an UNCONDITIONAL generator, trained as a class-conditional GAN
on cluster labels found without supervision, then sampled with the cluster drawn from the noise.

    python -m training train --preset dcgan-mnist        # the shipped unconditional model
    python -m training train --family selfcond --clusters 20

k-means on the training images' pixels (no human labels) splits the digits into `clusters` groups; the cgan
networks (label embedding in G, projection D) learn one conditional per cluster, which is far easier than the
whole multi-modal distribution at once and guards against dropping modes. The exported graph takes only noise:
z[:, 0] picks the cluster with probability equal to its share of the training images (through the normal
CDF), z[:, 1:] is the conditional generator's noise, so the samples follow the data's mixture.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from service.manifest import Kind
from training.config import TrainConfig
from training.data.clusters import kmeans
from training.data.sources import ImageData, TrainData
from training.distributed import DistInfo
from training.families import cgan
from training.families.family import ExportSpec, Family

LOSSES = cgan.LOSSES
DEFAULTS: dict[str, object] = dict(cgan.DEFAULTS, loss="nonsaturating", clusters=20)


class MixtureGenerator(nn.Module):
    """z (N, 1 + latent) ~ N(0, I) -> image (N, C, H, W): a cluster-conditional generator made unconditional."""

    def __init__(self, generator: nn.Module, shares: torch.Tensor) -> None:
        super().__init__()
        self.generator = generator
        self.edges: torch.Tensor
        self.register_buffer("edges", torch.cumsum(shares.float(), 0)[:-1])  # (K - 1,) upper bounds in (0, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        u = 0.5 * (1.0 + torch.erf(z[:, 0] / math.sqrt(2.0)))  # uniform on (0, 1)
        cluster = (u[:, None] > self.edges[None, :]).sum(dim=1)  # int64 (N,)
        return self.generator(z[:, 1:], cluster)


class Trainer(cgan.Trainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        assert isinstance(data, ImageData)
        clusters, _ = kmeans(data.images.flatten(1), cfg.clusters, seed=cfg.seed)
        self.shares = torch.bincount(clusters, minlength=cfg.clusters).float() / len(clusters)
        super().__init__(cfg, data, device, dist, labels=clusters, num_classes=cfg.clusters)

    def fake_labels(self, n: int) -> torch.Tensor:
        # fakes follow the clusters' real shares, as the exported sampler does
        return torch.multinomial(self.shares, n, replacement=True, generator=self.rng).to(self.device)

    def exports(self) -> list[ExportSpec]:
        latent = self.cfg.latent_dim + 1

        def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
            return (torch.randn(n, latent, generator=gen),)

        mixture = MixtureGenerator(self.generator("G"), self.shares)
        prov = {"clusters": self.cfg.clusters, "cluster_shares": [round(float(s), 4) for s in self.shares]}
        return [ExportSpec("", mixture, Kind.unconditional, example, prov, latent_dim=latent)]


FAMILY = Family("selfcond", Kind.unconditional, "images", LOSSES, DEFAULTS, Trainer)
