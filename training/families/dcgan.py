"""DCGAN (Radford et al., 2016): transposed-conv generator with batch norm + ReLU/Tanh, LeakyReLU conv
discriminator, Adam(2e-4, beta1 0.5), N(0, 0.02) init.

    python -m training train --family dcgan --label-smoothing 0.1                       # the classic recipe
    python -m training train --preset dcgan-mnist    # shipped: + spectral-norm D, hinge loss, mbstd, EMA

The loss is selectable: nonsaturating (the paper's), hinge (pairs well with spectral norm), lsgan, minimax.
"""

from __future__ import annotations

from functools import partial

import torch

from training import losses
from training.config import TrainConfig
from training.distributed import DistInfo
from training.families.unconditional import UnconditionalTrainer
from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import init_normal_

KIND = "unconditional"
TASK_KIND = None
LOSSES = ("nonsaturating", "hinge", "lsgan", "minimax")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


class Trainer(UnconditionalTrainer):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: DistInfo) -> None:
        G = ConvGenerator(cfg.latent_dim, cfg.width)
        D = ConvDiscriminator(cfg.width, sn=cfg.spectral_norm, mbstd=cfg.mbstd)
        init_normal_(G)
        init_normal_(D)
        super().__init__(cfg, device, dist, G, D)
        d_loss, self._g = losses.ADVERSARIAL_LOSSES[cfg.loss]
        bce = cfg.loss in ("nonsaturating", "minimax")
        self._d = partial(d_loss, real_target=1.0 - cfg.label_smoothing) if bce else d_loss

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self._d(self.D(real), self.D(fake))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return self._g(fake_scores)
