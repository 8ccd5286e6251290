"""DCGAN (Radford et al., 2016): transposed-conv generator with batch norm + ReLU/Tanh, LeakyReLU conv
discriminator, Adam(2e-4, beta1 0.5), N(0, 0.02) init; one up/down block per doubling of the image size.

    python -m training train --family dcgan --label-smoothing 0.1                       # the classic recipe
    python -m training train --family dcgan --data faces/ --image-size 64 --flip        # your own images

The loss is selectable: nonsaturating (the paper's), hinge (pairs well with spectral norm), lsgan, minimax.
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
from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import init_normal_

LOSSES = ("nonsaturating", "hinge", "lsgan", "minimax")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, ImageData)
        self.real = data.images  # (N, C, S, S) in [-1, 1], kept on the CPU
        c, s = image_shape(self.real)
        G = ConvGenerator(cfg.latent_dim, cfg.width, channels=c, size=s)
        D = ConvDiscriminator(cfg.width, channels=c, sn=cfg.spectral_norm, mbstd=cfg.mbstd, size=s)
        init_normal_(G)
        init_normal_(D)
        self.G = self.add("G", G, cfg.lr_g, ema=True)
        self.D = self.add("D", D, cfg.lr_d)
        d_loss, self.g_loss = losses.ADVERSARIAL_LOSSES[cfg.loss]
        bce = cfg.loss in ("nonsaturating", "minimax")
        self.d_loss = partial(d_loss, real_target=1.0 - cfg.label_smoothing) if bce else d_loss
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


FAMILY = Family("dcgan", Kind.unconditional, "images", LOSSES, DEFAULTS, Trainer)
