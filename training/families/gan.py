"""The original GAN (Goodfellow et al., 2014): MLP generator and discriminator.

    python -m training train --family gan --loss minimax          # the game as first written: saturates
    python -m training train --family gan --loss nonsaturating --label-smoothing 0.1

`minimax`: G minimises log(1 - D(G(z))), whose gradient vanishes while D confidently rejects the fakes;
`nonsaturating`: G maximises log D(G(z)) instead. One-sided label smoothing softens D's real targets only.
"""

from __future__ import annotations

from functools import partial

import torch

from service.manifest import Kind
from training import losses
from training.config import TrainConfig
from training.data.sources import ImageData, TrainData
from training.distributed import DistInfo
from training.families.base import BaseTrainer, fixed_noise, image_shape, noise_exports, noise_grid
from training.families.family import ExportSpec, Family
from training.nets.layers import init_normal_
from training.nets.mlp import MLPDiscriminator, MLPGenerator

LOSSES = ("nonsaturating", "minimax")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, ImageData)
        self.real = data.images  # (N, C, S, S) in [-1, 1], kept on the CPU
        c, s = image_shape(self.real)
        hidden = 4 * cfg.width
        G = MLPGenerator(cfg.latent_dim, hidden, image_shape=(c, s, s))
        D = MLPDiscriminator(hidden, image_pixels=c * s * s, sn=cfg.spectral_norm, mbstd=cfg.mbstd)
        init_normal_(G)
        init_normal_(D)
        self.G = self.add("G", G, cfg.lr_g, ema=True)
        self.D = self.add("D", D, cfg.lr_d)
        self.d_loss = partial(losses.d_bce, real_target=1.0 - cfg.label_smoothing)
        self.g_loss = losses.g_minimax if cfg.loss == "minimax" else losses.g_nonsaturating
        self.fixed = fixed_noise(64, cfg.latent_dim)

    def step(self, it: int) -> dict[str, float]:
        b = self.cfg.batch_size
        for _ in range(self.cfg.n_critic):
            (real,) = self.draw(self.real)
            with torch.no_grad(), self.autocast():
                fake = self.G(self.noise(b))
            with self.autocast():
                loss_d = self.d_loss(self.D(real), self.D(fake))
            self.update("D", loss_d)
        with self.autocast():
            loss_g = self.g_loss(self.D(self.G(self.noise(b))))
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        return noise_grid(self, self.fixed)

    def exports(self) -> list[ExportSpec]:
        return noise_exports(self)


FAMILY = Family("gan", Kind.unconditional, "images", LOSSES, DEFAULTS, Trainer)
