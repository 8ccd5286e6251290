import pytest
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


@pytest.mark.parametrize("size", [32, 64, 128])
def test_networks_scale_with_the_image_size_and_channels(size: int) -> None:
    from training.nets.unet import ResNetGenerator

    z, x, y = torch.randn(2, 8), torch.randn(2, 3, size, size), torch.tensor([0, 2])
    assert ConvGenerator(8, 4, channels=3, num_classes=3, size=size)(z, y).shape == (2, 3, size, size)
    assert ConvDiscriminator(4, channels=3, num_classes=3, size=size)(x, y).shape == (2,)
    assert MLPGenerator(8, 16, image_shape=(3, size, size))(z).shape == (2, 3, size, size)
    assert UNetGenerator(3, 4, size=size)(x).shape == (2, 3, size, size)
    assert ResNetGenerator(3, 4, size=size)(x).shape == (2, 3, size, size)
    patches = size // 4 if size <= 32 else size // 8
    assert PatchDiscriminator(6, 4, size=size)(torch.cat([x, x], 1)).shape == (2, 1, patches, patches)


def test_one_block_per_doubling() -> None:
    def ups(size: int) -> int:
        return sum(isinstance(m, torch.nn.ConvTranspose2d) for m in ConvGenerator(8, 4, size=size).modules())

    assert [ups(s) for s in (28, 32, 64, 128)] == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="28, 32, 64, 128"):
        ConvGenerator(8, 4, size=48)
