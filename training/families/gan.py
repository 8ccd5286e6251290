"""The original GAN (Goodfellow et al., 2014): MLP generator and discriminator.

    python -m training train --family gan --loss minimax          # the game as first written: saturates
    python -m training train --family gan --loss nonsaturating --label-smoothing 0.1

`minimax`: G minimises log(1 - D(G(z))), whose gradient vanishes while D confidently rejects the fakes;
`nonsaturating`: G maximises log D(G(z)) instead. One-sided label smoothing softens D's real targets only.
"""

from __future__ import annotations

from functools import partial

import torch

from training import losses
from training.config import TrainConfig
from training.distributed import DistInfo
from training.families.unconditional import UnconditionalTrainer
from training.nets.layers import init_normal_
from training.nets.mlp import MLPDiscriminator, MLPGenerator

KIND = "unconditional"
TASK_KIND = None
LOSSES = ("nonsaturating", "minimax")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5)


class Trainer(UnconditionalTrainer):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: DistInfo) -> None:
        hidden = 8 * cfg.width
        G, D = MLPGenerator(cfg.latent_dim, hidden // 2), MLPDiscriminator(hidden // 2, sn=cfg.spectral_norm,
                                                                            mbstd=cfg.mbstd)  # fmt: skip
        init_normal_(G)
        init_normal_(D)
        super().__init__(cfg, device, dist, G, D)
        self._d = partial(losses.d_bce, real_target=1.0 - cfg.label_smoothing)
        self._g = losses.g_minimax if cfg.loss == "minimax" else losses.g_nonsaturating

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self._d(self.D(real), self.D(fake))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return self._g(fake_scores)
