"""WGAN-GP (Gulrajani et al., 2017): the critic is kept 1-Lipschitz by a gradient penalty (lambda 10)
on random interpolates between real and fake images, instead of clipping its weights.

    python -m training train --family wgan-gp       # Adam(1e-4, betas 0 / 0.9), 5 critic steps per G step

The critic has no batch norm: the penalty is per sample, and batch norm couples the samples of a batch.
"""

from __future__ import annotations

import torch

from service.manifest import Kind
from training import losses
from training.config import TrainConfig
from training.data.sources import ImageData, TrainData
from training.distributed import DistInfo
from training.families.base import BaseTrainer, fixed_noise, image_shape, noise_exports, noise_grid
from training.families.family import ExportSpec, Family
from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import init_normal_

LOSSES = ("wasserstein",)
DEFAULTS: dict[str, object] = dict(lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, n_critic=5, gp_weight=10.0)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, ImageData)
        self.real = data.images  # (N, C, S, S) in [-1, 1], kept on the CPU
        c, s = image_shape(self.real)
        G = ConvGenerator(cfg.latent_dim, cfg.width, channels=c, size=s)
        D = ConvDiscriminator(cfg.width, channels=c, sn=cfg.spectral_norm, mbstd=cfg.mbstd, batch_norm=False, size=s)
        init_normal_(G)
        init_normal_(D)
        self.G = self.add("G", G, cfg.lr_g, ema=True)
        self.D = self.add("D", D, cfg.lr_d)
        self.fixed = fixed_noise(64, cfg.latent_dim)

    def step(self, it: int) -> dict[str, float]:
        b = self.cfg.batch_size
        for _ in range(self.cfg.n_critic):
            (real,) = self.draw(self.real)
            with torch.no_grad(), self.autocast():
                fake = self.G(self.noise(b))
            with self.autocast():
                loss_d = losses.d_wasserstein(self.D(real), self.D(fake))
                loss_d = loss_d + losses.gradient_penalty(self.D, real, fake, self.cfg.gp_weight)
            self.update("D", loss_d)
        with self.autocast():
            loss_g = losses.g_wasserstein(self.D(self.G(self.noise(b))))
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        return noise_grid(self, self.fixed)

    def exports(self) -> list[ExportSpec]:
        return noise_exports(self)


FAMILY = Family("wgan-gp", Kind.unconditional, "images", LOSSES, DEFAULTS, Trainer)
