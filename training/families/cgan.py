"""Class-conditional GAN: a label embedding in the generator, a projection discriminator (Miyato & Koyama, 2018).

    python -m training train --preset cgan-mnist                      # the shipped digit model
    python -m training train --family cgan --data letters/ --image-size 32   # letters/<class name>/*.png

G takes (z, label) with the label embedded and concatenated to z; D scores an image as
head(features) + <embed(label), features>, so it judges "is this a real image *of this class*".
"""

from __future__ import annotations

from functools import partial

import torch

from service.manifest import Kind
from training import losses
from training.config import TrainConfig
from training.data.sources import ImageData, TrainData
from training.distributed import DistInfo
from training.families.base import BaseTrainer, fixed_noise, image_shape
from training.families.family import ExportSpec, Family
from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import init_normal_

LOSSES = ("hinge", "nonsaturating", "lsgan", "minimax")
DEFAULTS: dict[str, object] = dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


class Trainer(BaseTrainer):
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo,
                 labels: torch.Tensor | None = None, num_classes: int = 0) -> None:  # fmt: skip
        """`labels` (N,) and `num_classes` replace the data's labels (the self-conditioned GAN passes clusters)."""
        super().__init__(cfg, data, device, dist)
        assert isinstance(data, ImageData)
        self.real = data.images  # (N, C, S, S) in [-1, 1]
        if labels is None:
            assert data.labels is not None and data.class_names is not None
            labels, num_classes = data.labels, len(data.class_names)
        self.labels, self.num_classes = labels, num_classes
        c, s = image_shape(self.real)
        G = ConvGenerator(cfg.latent_dim, cfg.width, channels=c, num_classes=num_classes, size=s)
        D = ConvDiscriminator(cfg.width, channels=c, sn=cfg.spectral_norm, mbstd=cfg.mbstd, num_classes=num_classes,
                              size=s)  # fmt: skip
        init_normal_(G)
        init_normal_(D)
        self.G = self.add("G", G, cfg.lr_g, ema=True)
        self.D = self.add("D", D, cfg.lr_d)
        d_loss, self.g_loss = losses.ADVERSARIAL_LOSSES[cfg.loss]
        bce = cfg.loss in ("nonsaturating", "minimax")
        self.d_loss = partial(d_loss, real_target=1.0 - cfg.label_smoothing) if bce else d_loss
        # grid: 8 rows of noise, one column per class
        self.fixed_z = fixed_noise(8, cfg.latent_dim).repeat_interleave(num_classes, 0)
        self.fixed_y = torch.arange(num_classes).repeat(8)

    def fake_labels(self, n: int) -> torch.Tensor:
        return torch.randint(self.num_classes, (n,), generator=self.rng).to(self.device)

    def step(self, it: int) -> dict[str, float]:
        b = self.cfg.batch_size
        for _ in range(self.cfg.n_critic):
            real, y_real = self.draw(self.real, self.labels)
            y_fake = self.fake_labels(b)
            with torch.no_grad(), self.autocast():
                fake = self.G(self.noise(b), y_fake)
            with self.autocast():
                loss_d = self.d_loss(self.D(real, y_real), self.D(fake, y_fake))
            self.update("D", loss_d)
        y_fake = self.fake_labels(b)
        with self.autocast():
            loss_g = self.g_loss(self.D(self.G(self.noise(b), y_fake), y_fake))
        self.update("G", loss_g)
        self.update_ema(it)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def grid(self) -> tuple[torch.Tensor, int]:
        G = self.generator("G")
        with self.evaluating(G):
            return G(self.fixed_z.to(self.device), self.fixed_y.to(self.device)).float().cpu(), self.num_classes

    def exports(self) -> list[ExportSpec]:
        latent, k = self.cfg.latent_dim, self.num_classes

        def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
            return torch.randn(n, latent, generator=gen), torch.randint(k, (n,), generator=gen)

        return [ExportSpec("", self.generator("G"), Kind.conditional, example)]


FAMILY = Family("cgan", Kind.conditional, "labelled", LOSSES, DEFAULTS, Trainer)
