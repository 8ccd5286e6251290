"""WGAN (Arjovsky et al., 2017): a critic estimates the Wasserstein-1 distance; Lipschitz by weight clipping.

    python -m training train --family wgan          # RMSprop 5e-5, 5 critic steps per G step, clip 0.01

DCGAN-shaped networks; the critic outputs an unbounded score, not a probability.
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
DEFAULTS: dict[str, object] = dict(lr_g=5e-5, lr_d=5e-5, n_critic=5, clip_value=0.01)


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
        self.G = self.add("G", G, cfg.lr_g, ema=True, rmsprop=True)
        self.D = self.add("D", D, cfg.lr_d, rmsprop=True)
        self.fixed = fixed_noise(64, cfg.latent_dim)

    def step(self, it: int) -> dict[str, float]:
        b = self.cfg.batch_size
        for _ in range(self.cfg.n_critic):
            (real,) = self.draw(self.real)
            with torch.no_grad(), self.autocast():
                fake = self.G(self.noise(b))
            with self.autocast():
                loss_d = losses.d_wasserstein(self.D(real), self.D(fake))
            self.update("D", loss_d)
            with torch.no_grad():  # the Lipschitz constraint: clip every critic weight after its update
                for p in self.D.parameters():
                    p.clamp_(-self.cfg.clip_value, self.cfg.clip_value)
        with self.autocast():
            loss_g = losses.g_wasserstein(self.D(self.G(self.noise(b))))
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        return noise_grid(self, self.fixed)

    def exports(self) -> list[ExportSpec]:
        return noise_exports(self)


FAMILY = Family("wgan", Kind.unconditional, "images", LOSSES, DEFAULTS, Trainer)
