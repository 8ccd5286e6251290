"""DCGAN-style convolutional networks for 28x28 images (Radford et al., 2016), optionally class-conditional.

Generator: z -> linear -> (4w, 7, 7) -> transposed conv to (2w, 14, 14) -> transposed conv to (w, 28, 28)
-> 3x3 conv to the image, with batch norm + ReLU between and Tanh at the end.
Discriminator: strided convs 28 -> 14 -> 7 with LeakyReLU (batch norm unless spectral norm or WGAN-GP),
optional minibatch stddev, a linear head, and for classes a projection term <embed(y), features> (Miyato 2018).
"""

from __future__ import annotations

import torch
from torch import nn

from training.nets.layers import MinibatchStdDev, maybe_sn


class ConvGenerator(nn.Module):
    """z (N, latent) [, label (N,) int64] -> image (N, channels, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int, width: int = 32, channels: int = 1, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.fc = nn.Sequential(nn.Linear(in_dim, 4 * width * 7 * 7, bias=False), nn.Unflatten(1, (4 * width, 7, 7)))
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if label is None:
                raise ValueError("this generator is class-conditional: pass a label")
            z = torch.cat([z, self.embed(label)], dim=1)
        return self.net(self.fc(z))


class ConvDiscriminator(nn.Module):
    """image (N, channels, 28, 28) [, label (N,)] -> logit (N,)."""

    def __init__(
        self,
        width: int = 32,
        channels: int = 1,
        sn: bool = False,
        mbstd: bool = False,
        num_classes: int = 0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()

        def norm(c: int) -> nn.Module:
            # spectral norm replaces batch norm (stacking both fights); WGAN-GP's per-sample penalty forbids BN
            return nn.BatchNorm2d(c) if batch_norm and not sn else nn.Identity()

        self.body = nn.Sequential(
            maybe_sn(nn.Conv2d(channels, width, 4, 2, 1), sn), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(width, 2 * width, 4, 2, 1), sn), norm(2 * width), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(2 * width, 4 * width, 3, 1, 1), sn), norm(4 * width), nn.LeakyReLU(0.2),
        )  # fmt: skip  (N, 4w, 7, 7)
        self.mbstd = MinibatchStdDev() if mbstd else None
        features = (4 * width + int(mbstd)) * 7 * 7
        self.head = maybe_sn(nn.Linear(features, 1), sn)
        self.embed = maybe_sn(nn.Embedding(num_classes, features), sn) if num_classes else None

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.flatten(1)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            if label is None:
                raise ValueError("this discriminator is class-conditional: pass a label")
            out = out + (self.embed(label) * h).sum(dim=1)
        return out
