"""The original GAN's networks (Goodfellow et al., 2014): fully connected, images flattened."""

from __future__ import annotations

import torch
from torch import nn

from training.nets.layers import MinibatchStdDev, maybe_sn


class MLPGenerator(nn.Module):
    """z (N, latent) -> image (N, *image_shape) in [-1, 1]."""

    def __init__(self, latent_dim: int, hidden: int = 256, image_shape: tuple[int, int, int] = (1, 28, 28)) -> None:
        super().__init__()
        self.image_shape = image_shape
        out = image_shape[0] * image_shape[1] * image_shape[2]
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 2 * hidden), nn.LeakyReLU(0.2),
            nn.Linear(2 * hidden, 4 * hidden), nn.LeakyReLU(0.2),
            nn.Linear(4 * hidden, out), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    """image (N, C, H, W) with C*H*W = image_pixels -> logit (N,)."""

    def __init__(self, hidden: int = 256, image_pixels: int = 784, sn: bool = False, mbstd: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            maybe_sn(nn.Linear(image_pixels, 4 * hidden), sn), nn.LeakyReLU(0.2),
            maybe_sn(nn.Linear(4 * hidden, 2 * hidden), sn), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.mbstd = MinibatchStdDev() if mbstd else None
        self.head = maybe_sn(nn.Linear(2 * hidden + int(mbstd), 1), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x.flatten(1))
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.head(h).squeeze(1)
