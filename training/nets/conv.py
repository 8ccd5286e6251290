"""DCGAN-style convolutional networks (Radford et al., 2016) for square images of 28, 32, 64 or 128 pixels,
optionally class-conditional. One up/down block per doubling, so the stack grows with the image size.

Generator: z -> linear -> (c_0, B, B) with B = 7 for 28 (digits) else 4 -> one stride-2 transposed conv per
doubling, channels c_i = width * min(8, 2^(blocks - i)) halving towards `width` -> 3x3 conv to the image; batch
norm + ReLU between, Tanh at the end. For 28: 7 -> 14 -> 28 with 4w, 2w, w channels.
Discriminator: the mirror image: one stride-2 conv per halving down to B, a 3x3 conv, LeakyReLU (batch norm unless
spectral norm or WGAN-GP), optional minibatch stddev, a linear head, and for classes a projection term
<embed(y), features> (Miyato & Koyama, 2018).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from training.nets.layers import MinibatchStdDev, maybe_sn


def base_and_blocks(size: int) -> tuple[int, int]:
    """(the smallest feature map's side, the number of doublings from it to `size`)."""
    base = 7 if size % 7 == 0 else 4
    blocks = int(math.log2(size // base))
    if base * 2**blocks != size:
        raise ValueError(f"image size {size} is not 7 or 4 times a power of two (28, 32, 64, 128)")
    return base, blocks


def _mult(i: int) -> int:
    return min(8, 2**i)


class ConvGenerator(nn.Module):
    """z (N, latent) [, label (N,) int64] -> image (N, channels, size, size) in [-1, 1]."""

    def __init__(self, latent_dim: int, width: int = 32, channels: int = 1, num_classes: int = 0,
                 size: int = 28) -> None:  # fmt: skip
        super().__init__()
        base, blocks = base_and_blocks(size)
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        c0 = width * _mult(blocks)
        self.fc = nn.Sequential(nn.Linear(in_dim, c0 * base * base, bias=False), nn.Unflatten(1, (c0, base, base)))
        layers: list[nn.Module] = [nn.BatchNorm2d(c0), nn.ReLU()]
        for i in range(blocks, 0, -1):
            cin, cout = width * _mult(i), width * _mult(i - 1)
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if label is None:
                raise ValueError("this generator is class-conditional: pass a label")
            z = torch.cat([z, self.embed(label)], dim=1)
        return self.net(self.fc(z))


class ConvDiscriminator(nn.Module):
    """image (N, channels, size, size) [, label (N,)] -> logit (N,)."""

    def __init__(
        self,
        width: int = 32,
        channels: int = 1,
        sn: bool = False,
        mbstd: bool = False,
        num_classes: int = 0,
        batch_norm: bool = True,
        size: int = 28,
    ) -> None:
        super().__init__()
        base, blocks = base_and_blocks(size)

        def norm(c: int) -> nn.Module:
            # spectral norm replaces batch norm (stacking both fights); WGAN-GP's per-sample penalty forbids BN
            return nn.BatchNorm2d(c) if batch_norm and not sn else nn.Identity()

        layers: list[nn.Module] = [maybe_sn(nn.Conv2d(channels, width, 4, 2, 1), sn), nn.LeakyReLU(0.2)]
        for i in range(1, blocks):
            cin, cout = width * _mult(i - 1), width * _mult(i)
            layers += [maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1), sn), norm(cout), nn.LeakyReLU(0.2)]
        c_last = width * _mult(blocks)
        layers += [maybe_sn(nn.Conv2d(width * _mult(blocks - 1), c_last, 3, 1, 1), sn), norm(c_last), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)  # (N, c_last, base, base)
        self.mbstd = MinibatchStdDev() if mbstd else None
        features = (c_last + int(mbstd)) * base * base
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
