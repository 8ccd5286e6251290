import math

import torch

from training import losses


def test_bce_losses_at_an_undecided_discriminator() -> None:
    zero = torch.zeros(4)
    assert math.isclose(losses.d_bce(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(losses.g_nonsaturating(zero).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(losses.g_minimax(zero).item(), -math.log(2), rel_tol=1e-6)


def test_label_smoothing_moves_the_real_target() -> None:
    # with target 0.9, the loss on real logits is minimised at sigmoid(logit) = 0.9, not at +inf
    best = torch.logit(torch.tensor([0.9]))
    assert losses.d_bce(best, torch.tensor([-20.0]), 0.9) < losses.d_bce(best + 3, torch.tensor([-20.0]), 0.9)


def test_minimax_saturates_where_nonsaturating_does_not() -> None:
    fake = torch.tensor([-8.0], requires_grad=True)  # D confidently rejects the sample
    (g_mm,) = torch.autograd.grad(losses.g_minimax(fake), fake)
    (g_ns,) = torch.autograd.grad(losses.g_nonsaturating(fake), fake)
    assert abs(g_mm.item()) < 1e-3 < abs(g_ns.item())


def test_hinge_and_wasserstein_values() -> None:
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    assert losses.d_hinge(real, fake).item() == (0 + 1) / 2 + (0 + 1.5) / 2
    assert losses.d_wasserstein(real, fake).item() == -0.75 - 1.0
    assert losses.g_lsgan(torch.ones(3)).item() == 0.0


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic() -> None:
    w = torch.zeros(1, 1, 2, 2)
    w[0, 0, 0, 0] = 1.0  # f(x) = x[0, 0]: gradient norm exactly 1 everywhere

    def critic(x: torch.Tensor) -> torch.Tensor:
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    assert losses.gradient_penalty(critic, real, fake).item() < 1e-10
    assert losses.gradient_penalty(lambda x: 3 * critic(x), real, fake, 10.0).item() == 10.0 * 4
