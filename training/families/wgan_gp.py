"""WGAN-GP (Gulrajani et al., 2017): the critic is kept 1-Lipschitz by a gradient penalty (lambda 10)
on random interpolates between real and fake images, instead of clipping its weights.

    python -m training train --family wgan-gp       # Adam(1e-4, betas 0 / 0.9), 5 critic steps per G step

The critic has no batch norm: the penalty is per sample, and batch norm couples the samples of a batch.
"""

from __future__ import annotations

import torch

from training import losses
from training.config import TrainConfig
from training.distributed import DistInfo
from training.families.unconditional import UnconditionalTrainer
from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import init_normal_

KIND = "unconditional"
TASK_KIND = None
LOSSES = ("wasserstein",)
DEFAULTS: dict[str, object] = dict(lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, n_critic=5, gp_weight=10.0)


class Trainer(UnconditionalTrainer):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: DistInfo) -> None:
        G = ConvGenerator(cfg.latent_dim, cfg.width)
        D = ConvDiscriminator(cfg.width, sn=cfg.spectral_norm, mbstd=cfg.mbstd, batch_norm=False)
        init_normal_(G)
        init_normal_(D)
        super().__init__(cfg, device, dist, G, D)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        wd = losses.d_wasserstein(self.D(real), self.D(fake))
        return wd + losses.gradient_penalty(self.D, real, fake, self.cfg.gp_weight)

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return losses.g_wasserstein(fake_scores)
