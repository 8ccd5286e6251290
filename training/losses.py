"""GAN losses as plain functions of discriminator outputs (logits, or critic scores for Wasserstein losses).

Discriminator losses are minimised by D, generator losses by G. Shapes: any, reduced by mean.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_bce(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))); real_target < 1 is one-sided label smoothing (Salimans et al., 2016)."""
    return F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_target)) + F.softplus(fake).mean()


def g_minimax(fake: torch.Tensor) -> torch.Tensor:
    """The original game: G minimises log(1 - D(G(z))) = -softplus(logit); saturates when D wins early."""
    return -F.softplus(fake).mean()


def g_nonsaturating(fake: torch.Tensor) -> torch.Tensor:
    """G maximises log D(G(z)) instead: same fixed point, strong gradients when D rejects the samples."""
    return F.softplus(-fake).mean()


def d_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_hinge(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic maximises E[f(x)] - E[f(G(z))]; this is its negation."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_lsgan(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN (Mao et al., 2017): real -> 1, fake -> 0; halved as in CycleGAN."""
    return 0.5 * (((real - 1.0) ** 2).mean() + (fake**2).mean())


def g_lsgan(fake: torch.Tensor) -> torch.Tensor:
    return ((fake - 1.0) ** 2).mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): weight * E[(||grad_x f(x_hat)||_2 - 1)^2] on random interpolates."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


# name -> (discriminator loss, generator loss), for families that let the user pick
ADVERSARIAL_LOSSES: dict[str, tuple[Callable[..., torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]] = {
    "minimax": (d_bce, g_minimax),
    "nonsaturating": (d_bce, g_nonsaturating),
    "hinge": (d_hinge, g_hinge),
    "lsgan": (d_lsgan, g_lsgan),
}
