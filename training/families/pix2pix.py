"""pix2pix (Isola et al., 2017): a U-Net generator and a PatchGAN discriminator on (source, image) pairs,
plus an L1 term that pulls the output towards the known target.

    python -m training train --preset pix2pix-lowres                                 # embedded digits, a task
    python -m training train --family pix2pix --data facades/ --image-size 64 --flip    # A|B side-by-side pairs
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from service.manifest import Kind
from training import losses
from training.config import TrainConfig
from training.data.sources import PairData, TrainData
from training.distributed import DistInfo
from training.families.base import BaseTrainer, image_shape
from training.families.family import ExportSpec, Family
from training.nets.layers import init_normal_
from training.nets.unet import PatchDiscriminator, translator

LOSSES = ("nonsaturating", "lsgan", "hinge")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, l1_weight=100.0, batch_size=32)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, PairData) and data.paired
        self.a, self.b = data.a, data.b  # (N, C, S, S) each, row i of a paired with row i of b
        c, s = image_shape(self.a)
        G = translator(cfg.generator or "unet", c, cfg.width, s)
        D = PatchDiscriminator(2 * c, cfg.width, sn=cfg.spectral_norm, size=s)
        init_normal_(G)
        init_normal_(D)
        self.G = self.add("G", G, cfg.lr_g, ema=True)
        self.D = self.add("D", D, cfg.lr_d)
        self.d_adv, self.g_adv = losses.ADVERSARIAL_LOSSES[cfg.loss]
        self.fixed = self.a[:8], self.b[:8]

    def step(self, it: int) -> dict[str, float]:
        a, b = self.draw(self.a, self.b)
        with self.autocast():
            fake = self.G(a)
            # D sees the source beside the image: "is this a plausible translation of *this* input?"
            loss_d = self.d_adv(self.D(torch.cat([a, b], 1)), self.D(torch.cat([a, fake.detach()], 1)))
        self.update("D", loss_d)
        with self.autocast():
            adv = self.g_adv(self.D(torch.cat([a, fake], 1)))
            l1 = F.l1_loss(fake, b)
            loss_g = adv + self.cfg.l1_weight * l1
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": adv.item(), "l1": l1.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        G = self.generator("G")
        a, b = self.fixed
        with self.evaluating(G):
            out = G(a.to(self.device)).float().cpu()
        return torch.cat([a, out, b]), 8  # rows: source, translation, target

    def exports(self) -> list[ExportSpec]:
        pool = self.a

        def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
            return (pool[torch.randint(len(pool), (n,), generator=gen)],)

        prov = {"task": self.cfg.task, "data": self.cfg.data, "direction": "a2b"}
        return [ExportSpec("", self.generator("G"), Kind.translation, example, prov)]


FAMILY = Family("pix2pix", Kind.translation, "pairs", LOSSES, DEFAULTS, Trainer)
