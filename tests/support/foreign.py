"""Generators "trained elsewhere": small PyTorch networks in the conventions found in the wild, exported to ONNX
the way tutorials do (`torch.onnx.export` with `dynamic_axes`), for `ganserve import` tests.

    path = export(FOREIGN["dcgan4d"], tmp_path)          # -> tmp_path/dcgan4d.onnx
    FOREIGN["dcgan4d"].flags                              # what `ganserve import` needs beyond --name

Weights are random (fixed seed): the tests compare the served images with a direct onnxruntime run, not quality.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


class DCGAN4d(nn.Module):
    """The PyTorch DCGAN tutorial's generator, narrowed: z (N, 100, 1, 1) -> Tanh -> (N, 3, 64, 64)."""

    def __init__(self, nz: int = 100, ngf: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
        ]
        for mult in (8, 4, 2):
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        for m in self.modules():  # wider than the tutorial's N(0, 0.02), so untrained images span the range
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.25)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)  # (N, 3, 64, 64) in [-1, 1]


class OneHotCGAN(nn.Module):
    """z (N, 16) and a float one-hot label (N, 10) -> Sigmoid -> (N, 1, 16, 16) in [0, 1]."""

    def __init__(self, nz: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(nz + classes, 64), nn.ReLU(), nn.Linear(64, 256), nn.Sigmoid())

    def forward(self, z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, onehot], dim=1)).view(-1, 1, 16, 16)


class IndexCGAN(nn.Module):
    """z (N, 12) and int32 class indices (N,) -> Tanh * 127.5 + 127.5 -> (N, 1, 12, 12) in [0, 255]."""

    def __init__(self, nz: int = 12, classes: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(classes, nz)
        self.net = nn.Sequential(nn.Linear(nz, 144), nn.Tanh())

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return (self.net(z * self.embed(label.long())) * 127.5 + 127.5).view(-1, 1, 12, 12)


class NHWCGenerator(nn.Module):
    """z (N, 32) -> Tanh -> (N, 16, 16, 3): channels last, like TensorFlow/Keras exports."""

    def __init__(self, nz: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(nz, 16 * 16 * 3), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 16, 16, 3)


class TwoOutputs(nn.Module):
    """z (N, 8) -> (image (N, 1, 8, 8) in [-1, 1], features (N, 4, 8, 8)): the image chosen by --output."""

    def __init__(self, nz: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(nz, 64)
        self.feat = nn.Linear(nz, 256)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tanh(self.fc(z)).view(-1, 1, 8, 8), self.feat(z).view(-1, 4, 8, 8)


class ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetTranslator(nn.Module):
    """CycleGAN's ResNet generator, narrowed: (N, 128, 128, 3) NHWC in [-1, 1] -> Tanh -> (N, 3, 128, 128)."""

    def __init__(self, ch: int = 8, blocks: int = 2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ch, 7),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.Conv2d(ch, ch * 2, 3, 2, 1),
            nn.InstanceNorm2d(ch * 2),
            nn.ReLU(True),
            *[ResBlock(ch * 2) for _ in range(blocks)],
            nn.ConvTranspose2d(ch * 2, ch, 3, 2, 1, output_padding=1),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.ReflectionPad2d(3),
            nn.Conv2d(ch, 3, 7),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.permute(0, 3, 1, 2))


@dataclass(frozen=True)
class Foreign:
    """One convention: the network, example inputs (batch 2), names, and the import flags it needs."""

    build: type[nn.Module]
    inputs: tuple[tuple[int, ...] | tuple[str, tuple[int, ...]], ...]  # shapes; ("int32", shape) for indices
    input_names: tuple[str, ...]
    output_names: tuple[str, ...] = ("image",)
    dynamic: bool = True
    flags: tuple[str, ...] = ()
    kwargs: dict[str, int] = field(default_factory=dict)


FOREIGN: dict[str, Foreign] = {
    "dcgan4d": Foreign(DCGAN4d, ((2, 100, 1, 1),), ("z",)),
    "onehot": Foreign(OneHotCGAN, ((2, 16), (2, 10)), ("z", "onehot"), flags=("--noise", "z", "--label", "onehot")),
    "int32": Foreign(
        IndexCGAN,
        ((2, 12), ("int32", (2,))),
        ("z", "y"),
        flags=("--output-range", "0", "255", "--class-names", "a", "b", "c", "d"),
    ),
    "nhwc": Foreign(NHWCGenerator, ((2, 32),), ("z",)),
    "fixed1": Foreign(NHWCGenerator, ((1, 32),), ("z",), dynamic=False),
    "two-outputs": Foreign(TwoOutputs, ((2, 8),), ("z",), ("image", "features"), flags=("--output", "image")),
    "resnet": Foreign(ResNetTranslator, ((2, 128, 128, 3),), ("photo",), ("out",), flags=("--input-range", "-1", "1")),
}


def export(name: str, folder: Path, seed: int = 0) -> Path:
    """Build FOREIGN[name] with seeded weights and export it with the TorchScript exporter, as tutorials do."""
    spec = FOREIGN[name]
    torch.manual_seed(seed)
    net = spec.build(**spec.kwargs).eval()
    args = tuple(
        torch.randint(0, 4, s[1], dtype=torch.int32) if isinstance(s[0], str) else torch.randn(*s) for s in spec.inputs
    )
    dynamic = {n: {0: "batch"} for n in spec.input_names + spec.output_names} if spec.dynamic else None
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
        torch.onnx.export(
            net,
            args,
            str(path),
            dynamo=False,
            input_names=list(spec.input_names),
            output_names=list(spec.output_names),
            dynamic_axes=dynamic,
            opset_version=17,
        )
    return path
