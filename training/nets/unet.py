"""Image-to-image networks: a U-Net generator (pix2pix), a ResNet generator (CycleGAN) and a PatchGAN
discriminator (Isola et al., 2017; Zhu et al., 2017), for square images of 28, 32, 64 or 128 pixels.

Instance norm (no running statistics) keeps training and inference identical and every image independent of
the others in its batch, which the service's batching relies on. Depth follows the size: the U-Net halves the
image down to 7 (28) or 4 pixels, one skip per level; the PatchGAN has 2 stride-2 convs up to 32 pixels, 3 above.
"""

from __future__ import annotations

import torch
from torch import nn

from training.nets.conv import base_and_blocks
from training.nets.layers import maybe_sn


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True), nn.LeakyReLU(0.2))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


class UNetGenerator(nn.Module):
    """image (N, C, S, S) in [-1, 1] -> image (N, C, S, S) in [-1, 1]; a skip at every level.

    For 28: stem (w, 28) -> (2w, 14) -> (4w, 7) -> mid -> up with skips -> out, as in the digit models."""

    def __init__(self, channels: int = 1, width: int = 32, size: int = 28) -> None:
        super().__init__()
        _, depth = base_and_blocks(size)
        enc = [width] + [width * min(8, 2**i) for i in range(1, depth + 1)]  # channels at each level
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(_down(enc[i], enc[i + 1]) for i in range(depth))
        c = enc[-1]
        self.mid = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.InstanceNorm2d(c, affine=True), nn.ReLU())
        self.ups = nn.ModuleList(_up(2 * enc[i], enc[i - 1]) for i in range(depth, 0, -1))
        self.out = nn.Sequential(nn.Conv2d(2 * width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        h = self.mid(skips[-1])
        for up, skip in zip(self.ups, reversed(skips[1:]), strict=True):
            h = up(torch.cat([h, skip], 1))
        return self.out(torch.cat([h, skips[0]], 1))


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c, affine=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """image (N, C, S, S) -> image (N, C, S, S): CycleGAN's generator (Johnson et al., 2016): a 7x7 stem, two
    stride-2 downs, residual blocks at S/4 (3 up to 32 pixels, 6 at 64, 9 at 128), two ups, a 7x7 conv to the image."""

    def __init__(self, channels: int = 1, width: int = 32, size: int = 28) -> None:
        super().__init__()
        blocks = 3 if size <= 32 else 6 if size <= 64 else 9
        w = width
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(channels, w, 7), nn.InstanceNorm2d(w, affine=True), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.InstanceNorm2d(2 * w, affine=True), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.InstanceNorm2d(4 * w, affine=True), nn.ReLU(),
            *[ResBlock(4 * w) for _ in range(blocks)],
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(2 * w, affine=True),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(w, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def translator(kind: str, channels: int, width: int, size: int) -> nn.Module:
    """The generator a translation family asked for: "unet" or "resnet"."""
    return ResNetGenerator(channels, width, size) if kind == "resnet" else UNetGenerator(channels, width, size)


class PatchDiscriminator(nn.Module):
    """image(s) (N, C_in, S, S) -> logits (N, 1, S/4 or S/8, ...): one real/fake score per overlapping patch."""

    def __init__(self, in_channels: int, width: int = 32, sn: bool = False, size: int = 28) -> None:
        super().__init__()
        w, downs = width, 2 if size <= 32 else 3
        layers: list[nn.Module] = [maybe_sn(nn.Conv2d(in_channels, w, 4, 2, 1), sn), nn.LeakyReLU(0.2)]
        c = w
        for _ in range(downs - 1):
            layers += [maybe_sn(nn.Conv2d(c, 2 * c, 4, 2, 1), sn), nn.InstanceNorm2d(2 * c, affine=True),
                       nn.LeakyReLU(0.2)]  # fmt: skip
            c *= 2
        layers += [maybe_sn(nn.Conv2d(c, 2 * c, 3, 1, 1), sn), nn.InstanceNorm2d(2 * c, affine=True),
                   nn.LeakyReLU(0.2), maybe_sn(nn.Conv2d(2 * c, 1, 3, 1, 1), sn)]  # fmt: skip
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
