"""Small building blocks shared by the networks: init, optional spectral norm, minibatch standard deviation."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm


def init_normal_(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN init: conv/linear/embedding weights ~ N(0, std), norm scales ~ N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            bias = getattr(m, "bias", None)
            if isinstance(bias, torch.Tensor):
                nn.init.zeros_(bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def maybe_sn(layer: nn.Module, enabled: bool) -> nn.Module:
    """Wrap a layer's weight in spectral normalization (a parametrization) when enabled."""
    return spectral_norm(layer) if enabled else layer


def bake_parametrizations(module: nn.Module) -> nn.Module:
    """Replace every parametrized tensor (spectral norm) by its current value, in place, for export.

    Not `parametrize.remove_parametrizations`: it deletes the property from the generated class, which a
    deep copy shares with the original network, so baking a copy would break the network still training.
    """
    for m in list(module.modules()):
        if parametrize.is_parametrized(m):
            with torch.no_grad():
                names = list(cast(nn.ModuleDict, m.parametrizations).keys())
                values = {name: getattr(m, name).detach().clone() for name in names}
            m.__class__ = m.__class__.__bases__[0]  # ParametrizedLinear -> Linear: the class parametrize derived
            del m.parametrizations
            for name, value in values.items():
                m.register_parameter(name, nn.Parameter(value))
    return module


class MinibatchStdDev(nn.Module):
    """Append one feature: the mean over features of the std over a group of samples (Karras et al., 2018).

    A collapsed generator makes samples alike, so their spread is a cue the discriminator can use.
    (N, C, *S) -> (N, C + 1, *S); groups of `group_size` samples (or the whole batch if it does not divide).
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g = self.group_size if n % self.group_size == 0 else n
        y = x.reshape(g, n // g, *x.shape[1:]).float()  # (G, M, C, *S)
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (M, C, *S)
        stat = std.mean(dim=tuple(range(1, std.dim())))  # (M,)
        stat = stat.repeat(g).reshape(n, 1, *([1] * (x.dim() - 2))).to(x.dtype)
        return torch.cat([x, stat.expand(n, 1, *x.shape[2:])], dim=1)
