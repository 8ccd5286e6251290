"""CycleGAN (Zhu et al., 2017): two generators (A->B, B->A), two PatchGAN discriminators, least-squares
adversarial loss, cycle consistency and identity terms, and a pool of past fakes for the discriminators.

    python -m training train --preset cyclegan-thicken                              # embedded digits, a task
    python -m training train --family cyclegan --data horse2zebra/ --image-size 64   # trainA/ and trainB/

A ResNet generator by default (``--generator unet`` for the U-Net). On a paired set (the digit tasks, or
pairs given as --data), domain A and domain B come from disjoint halves, so no pair is ever seen.
Both directions are exported: <name>-a2b and <name>-b2a.
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

LOSSES = ("lsgan", "nonsaturating", "hinge")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=16)


class ImagePool:
    """Shrivastava et al. (2017): D sees a mix of current and past fakes, which damps oscillation."""

    def __init__(self, size: int, rng: torch.Generator) -> None:
        self.size, self.rng = size, rng
        self.images: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for img in batch.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand((), generator=self.rng) < 0.5:
                j = int(torch.randint(self.size, (), generator=self.rng))
                out.append(self.images[j].clone())
                self.images[j] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, PairData) and not data.paired
        self.a, self.b = data.a, data.b  # (N_a, C, S, S), (N_b, C, S, S): no row of one is paired with the other
        c, s = image_shape(self.a)
        arch = cfg.generator or "resnet"
        nets = {"G_ab": translator(arch, c, cfg.width, s), "G_ba": translator(arch, c, cfg.width, s),
                "D_a": PatchDiscriminator(c, cfg.width, cfg.spectral_norm, s),
                "D_b": PatchDiscriminator(c, cfg.width, cfg.spectral_norm, s)}  # fmt: skip
        for name, net in nets.items():
            init_normal_(net)
            self.add(name, net, cfg.lr_g if name.startswith("G") else cfg.lr_d, ema=name.startswith("G"))
        self.d_adv, self.g_adv = losses.ADVERSARIAL_LOSSES[cfg.loss]
        self.pool_a, self.pool_b = ImagePool(cfg.pool_size, self.rng), ImagePool(cfg.pool_size, self.rng)
        self.fixed_a, self.fixed_b = self.a[:8], self.b[:8]

    def step(self, it: int) -> dict[str, float]:
        G_ab, G_ba, D_a, D_b = (self.nets[k] for k in ("G_ab", "G_ba", "D_a", "D_b"))
        (a,) = self.draw(self.a)
        (b,) = self.draw(self.b)
        cyc, idt = self.cfg.cycle_weight, self.cfg.cycle_weight * self.cfg.identity_weight
        with self.autocast():
            fake_b, fake_a = G_ab(a), G_ba(b)
            adv = self.g_adv(D_b(fake_b)) + self.g_adv(D_a(fake_a))
            cycle = F.l1_loss(G_ba(fake_b), a) + F.l1_loss(G_ab(fake_a), b)
            # identity: a generator fed its own target domain should leave the image alone
            identity = F.l1_loss(G_ab(b), b) + F.l1_loss(G_ba(a), a)
            loss_g = adv + cyc * cycle + idt * identity
        for k in ("G_ab", "G_ba"):
            self.opts[k].zero_grad(set_to_none=True)
        loss_g.backward()
        for k in ("G_ab", "G_ba"):
            self.opts[k].step()
        with self.autocast():
            loss_da = self.d_adv(D_a(a), D_a(self.pool_a.query(fake_a)))
            loss_db = self.d_adv(D_b(b), D_b(self.pool_b.query(fake_b)))
        self.update("D_a", loss_da)
        self.update("D_b", loss_db)
        self.update_ema(it)
        return {"loss_d": (loss_da + loss_db).item(), "loss_g": adv.item(), "cycle": cycle.item(),
                "identity": identity.item()}  # fmt: skip

    def grid(self) -> tuple[torch.Tensor, int]:
        G_ab, G_ba = self.generator("G_ab"), self.generator("G_ba")
        a, b = self.fixed_a.to(self.device), self.fixed_b.to(self.device)
        with self.evaluating(G_ab, G_ba):
            ab, ba = G_ab(a), G_ba(b)
            rows = [a, ab, G_ba(ab), b, ba, G_ab(ba)]  # A, A->B, A->B->A, B, B->A, B->A->B
        return torch.cat([r.float().cpu() for r in rows]), 8

    def extra_state(self) -> dict[str, torch.Tensor]:
        pools = {"pool_a": self.pool_a, "pool_b": self.pool_b}
        return {k: torch.stack(p.images) for k, p in pools.items() if p.images}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        for k, pool in (("pool_a", self.pool_a), ("pool_b", self.pool_b)):
            pool.images = list(state[k].unbind(0)) if k in state else []

    def exports(self) -> list[ExportSpec]:
        specs = []
        for direction, name, source in (("a2b", "G_ab", self.a), ("b2a", "G_ba", self.b)):

            def example(n: int, gen: torch.Generator, pool: torch.Tensor = source) -> tuple[torch.Tensor, ...]:
                return (pool[torch.randint(len(pool), (n,), generator=gen)],)

            prov = {"task": self.cfg.task, "data": self.cfg.data, "direction": direction}
            specs.append(ExportSpec(f"-{direction}", self.generator(name), Kind.translation, example, prov))
        return specs


FAMILY = Family("cyclegan", Kind.translation, "unpaired", LOSSES, DEFAULTS, Trainer)
