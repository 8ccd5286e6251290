"""Export: parity of onnxruntime against PyTorch, baked spectral norm, EMA weights, the manifest contract."""

import copy

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from service.manifest import Kind, load_manifest, sha256_file
from training.export import ExportError, export_generator, parity, recalibrate_batchnorm, to_onnx
from training.nets.conv import ConvGenerator
from training.nets.layers import maybe_sn
from training.nets.unet import UNetGenerator


def noise_example(latent: int):  # type: ignore[no-untyped-def]
    return lambda n, gen: (torch.randn(n, latent, generator=gen),)


def run_onnx(path, feeds):  # type: ignore[no-untyped-def]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def test_export_writes_a_valid_manifest_and_matches_pytorch_at_two_batch_sizes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    g = ConvGenerator(8, 4)
    # export re-estimates batch-norm statistics on a copy; doing it here too (same fixed draws) gives the reference
    recalibrate_batchnorm(g, noise_example(8))
    version_dir = export_generator(g, Kind.unconditional, noise_example(8), tmp_path / "digits" / "1", latent_dim=8,
                                   provenance={"family": "dcgan", "metrics": {}})  # fmt: skip
    manifest = load_manifest(version_dir)
    assert manifest.sha256 == sha256_file(version_dir / "model.onnx")
    assert manifest.inputs["noise"].shape == ["batch", 8] and manifest.provenance["family"] == "dcgan"
    assert manifest.provenance["export"]["parity_max_abs_diff"] <= 1e-4
    for n, seed in ((1, 3), (7, 4)):
        z = torch.randn(n, 8, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            want = g(z).numpy()
        np.testing.assert_allclose(run_onnx(version_dir / "model.onnx", {"z": z.numpy()}), want, atol=1e-4)


def test_parity_check_catches_a_graph_that_disagrees(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = ConvGenerator(8, 4).eval()
    data = to_onnx(g, noise_example(8), ["z"])
    other = copy.deepcopy(g)
    with torch.no_grad():
        other.net[-2].bias.add_(0.5)  # the last conv: shifts every pixel before tanh
    with pytest.raises(ExportError, match="differs from PyTorch"):
        parity(data, other, noise_example(8), ["z"])


class SNGenerator(nn.Module):
    """A generator with a spectral-norm parametrization, to check that export bakes it in."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = maybe_sn(nn.Linear(8, 784), True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 1, 28, 28)


def test_spectral_norm_is_baked_into_plain_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = SNGenerator()
    for _ in range(3):  # power iterations happen in train mode
        g(torch.randn(2, 8))
    g.eval()
    version_dir = export_generator(g, Kind.unconditional, noise_example(8), tmp_path / "sn" / "1", latent_dim=8)
    z = torch.randn(4, 8)
    with torch.no_grad():
        want = g(z).numpy()
    np.testing.assert_allclose(run_onnx(version_dir / "model.onnx", {"z": z.numpy()}), want, atol=1e-5)


def test_translation_export_has_an_image_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = UNetGenerator(1, 4).eval()

    def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor]:
        return (torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1,)

    version_dir = export_generator(g, Kind.translation, example, tmp_path / "t" / "1",
                                   provenance={"task": "lowres", "direction": "a2b"})  # fmt: skip
    manifest = load_manifest(version_dir)
    assert manifest.kind.value == "translation" and manifest.inputs["image"].name == "source"
    out = run_onnx(version_dir / "model.onnx", {"source": np.zeros((3, 1, 28, 28), np.float32)})
    assert out.shape == (3, 1, 28, 28)


def test_ema_generator_is_what_gets_exported(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from training.distributed import DistInfo
    from training.families import get_family

    cfg = tiny(family="dcgan", ema_decay=0.5)
    from training.data.sources import load_train_data

    family = get_family("dcgan")
    trainer = family.trainer(cfg, load_train_data(cfg, family.needs), torch.device("cpu"), DistInfo())
    for it in range(2):
        trainer.step(it)
    (spec,) = trainer.exports()
    raw = trainer.nets["G"]
    assert spec.module is trainer.emas["G"].model
    assert not all(torch.equal(a, b) for a, b in zip(spec.module.parameters(), raw.parameters(), strict=True))
