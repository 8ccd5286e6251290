"""Image-to-image networks for 28x28: a U-Net generator and a PatchGAN discriminator (Isola et al., 2017).

Instance norm (no running statistics) keeps training and inference identical and every image independent of
the others in its batch, which the service's batching relies on.
"""

from __future__ import annotations

import torch
from torch import nn

from training.nets.layers import maybe_sn


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


class UNetGenerator(nn.Module):
    """image (N, C, 28, 28) in [-1, 1] -> image (N, C, 28, 28) in [-1, 1]; skips at 28, 14 and 7."""

    def __init__(self, channels: int = 1, width: int = 32) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(channels, w, 3, 1, 1), nn.LeakyReLU(0.2))  # (w, 28, 28)
        self.d1 = _down(w, 2 * w)  # (2w, 14, 14)
        self.d2 = _down(2 * w, 4 * w)  # (4w, 7, 7)
        self.mid = nn.Sequential(nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.InstanceNorm2d(4 * w, affine=True), nn.ReLU())
        self.u2 = _up(8 * w, 2 * w)  # (2w, 14, 14)
        self.u1 = _up(4 * w, w)  # (w, 28, 28)
        self.out = nn.Sequential(nn.Conv2d(2 * w, channels, 3, 1, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(x)
        s1 = self.d1(s0)
        s2 = self.d2(s1)
        h = self.mid(s2)
        h = self.u2(torch.cat([h, s2], 1))
        h = self.u1(torch.cat([h, s1], 1))
        return self.out(torch.cat([h, s0], 1))


class PatchDiscriminator(nn.Module):
    """image(s) (N, C_in, 28, 28) -> logits (N, 1, 7, 7): one real/fake score per overlapping patch."""

    def __init__(self, in_channels: int, width: int = 32, sn: bool = False) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            maybe_sn(nn.Conv2d(in_channels, w, 4, 2, 1), sn), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(w, 2 * w, 4, 2, 1), sn), nn.InstanceNorm2d(2 * w, affine=True), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(2 * w, 4 * w, 3, 1, 1), sn), nn.InstanceNorm2d(4 * w, affine=True), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(4 * w, 1, 3, 1, 1), sn),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
