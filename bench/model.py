"""A DCGAN-sized reference generator for the benchmark, exported to a model repository.

    python -m bench.model --out bench/results/tmp/models     # writes bench-dcgan/1/{model.onnx,manifest.json}

Issue 5 states its targets for "a DCGAN-sized generator (about 35 MFLOP per image)". The benchmark can run on
any served model (`--model`), but the ratios only mean something when inference, not HTTP, is the dominant cost,
so this module builds a randomly initialised generator of exactly that size. Weights are random: the benchmark
measures speed, not image quality. Needs the `train` extra (torch, onnx); the service never imports this.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from service.manifest import Manifest, sha256_file, write_atomic, write_manifest

NAME = "bench-dcgan"
VERSION = "1"
LATENT = 64
WIDE = 208  # channels at 7x7; 208 -> 104 -> 1 gives ~36 MFLOP per 28x28 image
OPSET = 18


def mflop_per_image() -> float:
    """Multiply-adds of the graph below, times two (BatchNorm folds into the convolutions at export)."""
    linear = LATENT * WIDE * 7 * 7
    up1 = 7 * 7 * WIDE * (WIDE // 2) * 4 * 4  # ConvTranspose: every input pixel scatters a 4x4 kernel
    up2 = 14 * 14 * (WIDE // 2) * 1 * 4 * 4
    return 2 * (linear + up1 + up2) / 1e6


def export(out: Path, seed: int = 0) -> Path:
    """Write ``out/bench-dcgan/1/`` and return that folder."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(LATENT, WIDE * 7 * 7),
        nn.Unflatten(1, (WIDE, 7, 7)),  # (N, 208, 7, 7)
        nn.BatchNorm2d(WIDE),
        nn.ReLU(),
        nn.ConvTranspose2d(WIDE, WIDE // 2, 4, 2, 1),  # (N, 104, 14, 14)
        nn.BatchNorm2d(WIDE // 2),
        nn.ReLU(),
        nn.ConvTranspose2d(WIDE // 2, 1, 4, 2, 1),  # (N, 1, 28, 28)
        nn.Tanh(),  # in [-1, 1]
    ).eval()
    version_dir = out / NAME / VERSION
    onnx_path = version_dir / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / "model.onnx"
        _export_graph(torch, net, exported, LATENT)
        write_atomic(onnx_path, exported.read_bytes())
    manifest = Manifest.model_validate({
        "name": NAME, "version": VERSION, "kind": "unconditional",
        "description": f"random-weight DCGAN-sized generator for benchmarks, {mflop_per_image():.1f} MFLOP/image",
        "inputs": {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", LATENT]}},
        "outputs": {"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 28, 28]}},
        "image": {"channels": 1, "height": 28, "width": 28}, "latent_dim": LATENT, "opset": OPSET,
        "sha256": sha256_file(onnx_path),
        "provenance": {"family": "dcgan", "purpose": "benchmark", "seed": seed, "mflop_per_image": mflop_per_image()},
    })  # fmt: skip
    write_manifest(version_dir, manifest)
    return version_dir


def _export_graph(torch: Any, net: Any, path: Path, latent: int) -> None:
    # the TorchScript exporter: one static graph with BatchNorm folded, no onnxscript round trip needed
    torch.onnx.export(
        net,
        (torch.zeros(2, latent),),
        str(path),
        input_names=["z"],
        output_names=["image"],
        dynamic_axes={"z": {0: "batch"}, "image": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.model", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/tmp/models"), help="model repository")
    args = parser.parse_args(argv)
    print(export(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
