"""WGAN (Arjovsky et al., 2017): a critic estimates the Wasserstein-1 distance; Lipschitz by weight clipping.

    python -m training train --family wgan          # RMSprop 5e-5, 5 critic steps per G step, clip 0.01

DCGAN-shaped networks; the critic outputs an unbounded score, not a probability.
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
DEFAULTS: dict[str, object] = dict(lr_g=5e-5, lr_d=5e-5, n_critic=5, clip_value=0.01)


class Trainer(UnconditionalTrainer):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: DistInfo) -> None:
        G = ConvGenerator(cfg.latent_dim, cfg.width)
        D = ConvDiscriminator(cfg.width, sn=cfg.spectral_norm, mbstd=cfg.mbstd)
        init_normal_(G)
        init_normal_(D)
        super().__init__(cfg, device, dist, G, D, rmsprop=True)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return losses.d_wasserstein(self.D(real), self.D(fake))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return losses.g_wasserstein(fake_scores)

    @torch.no_grad()
    def after_d_step(self) -> None:
        for p in self.D.parameters():
            p.clamp_(-self.cfg.clip_value, self.cfg.clip_value)
