import torch
from torch.nn.utils import parametrize

from training.nets.conv import ConvDiscriminator, ConvGenerator
from training.nets.layers import MinibatchStdDev, bake_parametrizations
from training.nets.mlp import MLPDiscriminator, MLPGenerator
from training.nets.unet import PatchDiscriminator, UNetGenerator


def test_shapes() -> None:
    z, x, y = torch.randn(4, 8), torch.randn(4, 1, 28, 28), torch.tensor([0, 3, 9, 1])
    assert MLPGenerator(8, 16)(z).shape == (4, 1, 28, 28)
    assert MLPDiscriminator(16, mbstd=True, sn=True)(x).shape == (4,)
    assert ConvGenerator(8, 4)(z).shape == (4, 1, 28, 28)
    assert ConvGenerator(8, 4, num_classes=10)(z, y).shape == (4, 1, 28, 28)
    assert ConvDiscriminator(4, sn=True, mbstd=True, num_classes=10)(x, y).shape == (4,)
    assert UNetGenerator(1, 4)(x).shape == (4, 1, 28, 28)
    assert PatchDiscriminator(2, 4)(torch.cat([x, x], 1)).shape == (4, 1, 7, 7)


def test_generators_output_in_unit_range() -> None:
    out = ConvGenerator(8, 4)(torch.randn(16, 8) * 10)
    assert out.min() >= -1 and out.max() <= 1


def test_minibatch_stddev_sees_the_spread_of_the_batch() -> None:
    layer = MinibatchStdDev(group_size=4)
    same = layer(torch.ones(8, 3, 2, 2))
    assert same.shape == (8, 4, 2, 2) and same[:, 3].abs().max() < 1e-3
    spread = layer(torch.randn(8, 3, 2, 2))
    assert spread[:, 3].min() > 0.1


def test_projection_discriminator_depends_on_the_label() -> None:
    d = ConvDiscriminator(4, sn=True, num_classes=10).eval()
    x = torch.randn(2, 1, 28, 28)
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([5, 5])))


def test_baking_spectral_norm_keeps_the_function() -> None:
    d = ConvDiscriminator(4, sn=True).eval()
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        before = d(x)
        bake_parametrizations(d)
        after = d(x)
    assert not any(parametrize.is_parametrized(m) for m in d.modules())
    torch.testing.assert_close(before, after)
