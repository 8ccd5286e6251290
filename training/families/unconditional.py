"""The alternating game shared by the unconditional families (gan, dcgan, wgan, wgan-gp).

Each step: `n_critic` discriminator updates on a fresh real batch and detached fakes, then one generator
update, then the EMA of G. A family supplies its networks and overrides `d_loss` / `g_loss` / `after_d_step`.
"""

from __future__ import annotations

import torch
from torch import nn

from training.config import TrainConfig
from training.distributed import DistInfo
from training.families.base import ExportSpec, Trainer, fixed_noise, train_digits


class UnconditionalTrainer(Trainer):
    KIND = "unconditional"

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: DistInfo, G: nn.Module, D: nn.Module,
                 rmsprop: bool = False) -> None:  # fmt: skip
        super().__init__(cfg, device, dist)
        self.real, _ = train_digits()  # (N, 1, 28, 28) in [-1, 1], kept on the CPU
        self.G = self.add("G", G, cfg.lr_g, ema=True, rmsprop=rmsprop)
        self.D = self.add("D", D, cfg.lr_d, rmsprop=rmsprop)
        self.fixed = fixed_noise(64, cfg.latent_dim)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def after_d_step(self) -> None:
        """Hook for constraints applied to D after its update (WGAN's weight clipping)."""

    def step(self, it: int) -> dict[str, float]:
        b = self.cfg.batch_size
        for _ in range(self.cfg.n_critic):
            (real,) = self.draw(self.real)
            with torch.no_grad(), self.autocast():
                fake = self.G(self.noise(b))
            with self.autocast():
                loss_d = self.d_loss(real, fake)
            self.update("D", loss_d)
            self.after_d_step()
        with self.autocast():
            loss_g = self.g_loss(self.D(self.G(self.noise(b))))
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        G = self.generator("G")
        with self.evaluating(G):
            return G(self.fixed.to(self.device)).float().cpu(), 8

    def exports(self) -> list[ExportSpec]:
        latent = self.cfg.latent_dim

        def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
            return (torch.randn(n, latent, generator=gen),)

        return [ExportSpec("", self.generator("G"), self.KIND, example)]
