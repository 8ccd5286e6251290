"""A 64x64 RGB reference generator for the benchmark: the pytorch/examples DCGAN layout, exported to a repository.

    python -m bench.model_rgb --out bench/results/tmp/models     # writes bench-dcgan64/1/{model.onnx,manifest.json}

Issue 10 measures the service at the image size real users serve: nz=100, ngf=64, five transposed convolutions
(4 -> 8 -> 16 -> 32 -> 64 pixels), about 0.2 GFLOP per image. Weights are random (seeded): the benchmark measures
speed, not quality, but random weights give noisier pictures than a trained model, so PNG sizes here are an upper
bound. Needs the `train` extra (torch, onnx); the service never imports this.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.model import OPSET, _export_graph
from service.manifest import Manifest, sha256_file, write_atomic, write_manifest

NAME = "bench-dcgan64"
VERSION = "1"
LATENT = 100
NGF = 64
CHANNELS = 3


def mflop_per_image() -> float:
    """Multiply-adds of the transposed convolutions, times two (each input pixel scatters a 4x4 kernel)."""
    widths = [LATENT, NGF * 8, NGF * 4, NGF * 2, NGF, CHANNELS]
    sizes = [1, 4, 8, 16, 32]  # input side of each layer
    return 2 * sum(s * s * cin * cout * 16 for s, cin, cout in zip(sizes, widths, widths[1:], strict=False)) / 1e6


def export(out: Path, seed: int = 0) -> Path:
    """Write ``out/bench-dcgan64/1/`` and return that folder."""
    import torch
    from torch import nn

    def up(cin: int, cout: int, stride: int, pad: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Unflatten(1, (LATENT, 1, 1)),
        *up(LATENT, NGF * 8, 1, 0),  # (N, 512, 4, 4)
        *up(NGF * 8, NGF * 4, 2, 1),  # (N, 256, 8, 8)
        *up(NGF * 4, NGF * 2, 2, 1),  # (N, 128, 16, 16)
        *up(NGF * 2, NGF, 2, 1),  # (N, 64, 32, 32)
        nn.ConvTranspose2d(NGF, CHANNELS, 4, 2, 1, bias=False),  # (N, 3, 64, 64)
        nn.Tanh(),  # in [-1, 1]
    )
    _calibrate(torch, net)
    version_dir = out / NAME / VERSION
    onnx_path = version_dir / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / "model.onnx"
        _export_graph(torch, net, exported, LATENT)
        write_atomic(onnx_path, exported.read_bytes())
    manifest = Manifest.model_validate({
        "name": NAME, "version": VERSION, "kind": "unconditional",
        "description": f"random-weight 64x64 RGB DCGAN (pytorch/examples layout), {mflop_per_image():.0f} MFLOP/image",
        "inputs": {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", LATENT]}},
        "outputs": {"image": {"name": "image", "dtype": "float32", "shape": ["batch", CHANNELS, 64, 64]}},
        "image": {"channels": CHANNELS, "height": 64, "width": 64}, "latent_dim": LATENT, "opset": OPSET,
        "sha256": sha256_file(onnx_path),
        "provenance": {"family": "dcgan", "purpose": "benchmark", "seed": seed, "mflop_per_image": mflop_per_image()},
    })  # fmt: skip
    write_manifest(version_dir, manifest)
    return version_dir


def _calibrate(torch: Any, net: Any) -> None:
    """Give the random network pictures with a photo's structure (and a photo's encoding cost) instead of the
    flat grey that default BatchNorm statistics give or the incompressible noise of plain random kernels:
    smooth upsampling kernels with random channel mixing, BatchNorm statistics from one training-mode pass over 256 noise
    vectors, and the last layer scaled so the values before Tanh have unit spread."""
    kernel = torch.tensor([1.0, 3.0, 3.0, 1.0])
    smooth = torch.outer(kernel, kernel) / 16.0  # bilinear upsampling, as trained generators mostly learn
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.ConvTranspose2d) and m.stride == (2, 2):
                mix = torch.randn(m.in_channels, m.out_channels, 1, 1) / m.in_channels**0.5
                m.weight.copy_(mix * smooth)
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average: one pass sets the statistics exactly
    with torch.no_grad():
        net(torch.randn(256, LATENT))
        net.eval()
        last = net[-2]
        before_tanh = net[:-1](torch.randn(256, LATENT))
        last.weight.mul_(1.0 / float(before_tanh.std()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.model_rgb", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/tmp/models"), help="model repository")
    print(export(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
