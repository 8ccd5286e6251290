"""Train the project's digit classifier and ship it as data: an ONNX graph plus a JSON report.

    nice -n 10 python -m training.evaluation.classifier          # ~2 min on 2 CPU threads

Inception weights cannot be downloaded here, so every evaluation figure in this project (Fréchet distance, KID,
classifier score, precision/recall, class histogram, class kept) is computed on this network's outputs instead.
It is trained on the 8,000-image training split only, on the clean digits plus every other domain a shipped
translator can write into (e.g. the thickened digits of the ``thicken`` task), so that "class kept" can be
measured after a translation into that domain. Its accuracy on the 2,000 held-out images of each domain is
written beside the graph in ``assets/digit_classifier.json``.

The graph maps ``image`` float32 (N, 1, 28, 28) in [-1, 1] to ``logits`` (N, 10) and ``features`` (N, 128), the
penultimate layer on which the distribution metrics are computed. Evaluation runs it through onnxruntime only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from service.manifest import sha256_file, write_atomic
from training.data.mnist import load_split, to_unit_range
from training.data.tasks import TASKS

ASSETS = Path(__file__).resolve().parent / "assets"
ONNX_PATH = ASSETS / "digit_classifier.onnx"
COMMAND = "nice -n 10 python -m training.evaluation.classifier"


@dataclass(frozen=True)
class ClassifierConfig:
    epochs: int = 14
    batch_size: int = 128
    lr: float = 2e-3  # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    width: int = 16  # channels of the first block; doubled in the second
    feature_dim: int = 128
    max_shift_px: float = 2.0  # random affine augmentation: generated digits are rarely perfectly centred
    max_rotate_deg: float = 10.0
    max_scale: float = 0.1
    seed: int = 0
    threads: int = 2


class DigitNet(nn.Module):
    """Two VGG-style blocks, then a 128-wide feature layer and a linear head."""

    def __init__(self, width: int = 16, feature_dim: int = 128, num_classes: int = 10) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]

        self.body = nn.Sequential(*block(1, width), *block(width, 2 * width), nn.Flatten())  # (N, 2w*7*7)
        self.features = nn.Linear(2 * width * 7 * 7, feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 1, 28, 28) in [-1, 1] -> (logits (N, 10), features (N, feature_dim))."""
        feats = self.features(self.body(x))
        return self.head(feats), feats


def output_domains(clean: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Every image domain a shipped model writes into, from the same clean digits: "clean" plus each task side
    that differs from the clean digits (the target b of every task; the source a of unpaired tasks, which b2a
    writes into). uint8 (N, 28, 28) each, in the order of `clean`."""
    domains = {"clean": clean}
    for name, task in TASKS.items():
        a, b = task.make(clean, seed)
        sides = {"b": b, "a": a} if not task.paired else {"b": b}
        for side, images in sides.items():
            if not np.array_equal(images, clean):
                domains[f"{name}:{side}"] = images
    return domains


def augment(x: torch.Tensor, cfg: ClassifierConfig, gen: torch.Generator) -> torch.Tensor:
    """Random small rotation, scale and shift of a batch (N, 1, 28, 28); background stays at -1."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * np.deg2rad(cfg.max_rotate_deg)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * cfg.max_scale
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * cfg.max_shift_px * 2 / 28
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


@torch.no_grad()
def accuracy(model: DigitNet, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    logits = torch.cat([model(torch.from_numpy(to_unit_range(chunk)))[0] for chunk in np.array_split(images, 8)])
    return float((logits.argmax(1).numpy() == labels).mean())


def train(cfg: ClassifierConfig) -> tuple[DigitNet, dict[str, float], float]:
    """Train on every domain of the training split; return (model, held-out accuracy per domain, seconds)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    train_set, held_out = load_split()
    domains = output_domains(train_set.images, cfg.seed)
    x = torch.from_numpy(to_unit_range(np.concatenate(list(domains.values()))))  # (D*8000, 1, 28, 28)
    y = torch.from_numpy(np.tile(train_set.labels, len(domains)))
    model = DigitNet(cfg.width, cfg.feature_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = (len(x) + cfg.batch_size - 1) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = F.cross_entropy(model(augment(x[idx], cfg, gen))[0], y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        print(
            f"epoch {epoch + 1}/{cfg.epochs}  loss {total / len(x):.4f}  {time.perf_counter() - start:.0f}s", flush=True
        )
    seconds = time.perf_counter() - start
    held_domains = output_domains(held_out.images, cfg.seed)
    acc = {name: accuracy(model, images, held_out.labels) for name, images in held_domains.items()}
    return model, acc, seconds


def export(model: nn.Module, path: Path, image_shape: tuple[int, int, int] = (1, 28, 28)) -> None:
    """Export with the dynamo exporter (chosen explicitly), a dynamic batch axis, and check parity with torch.
    `model(x)` maps images (N, *image_shape) to (logits, features)."""
    import onnx
    import onnxruntime as ort

    model.eval()
    example = torch.zeros(2, *image_shape)
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        external_data=False,
        input_names=["image"],
        output_names=["logits", "features"],
        dynamic_shapes={"x": {0: batch}},
    )
    if program is None:
        raise RuntimeError("the ONNX exporter returned no program")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    program.save(str(tmp))
    onnx.checker.check_model(str(tmp), full_check=True)
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        x = torch.from_numpy(np.random.default_rng(n).uniform(-1, 1, (n, *image_shape)).astype(np.float32))
        with torch.no_grad():
            want = [t.numpy() for t in model(x)]
        got = session.run(["logits", "features"], {"image": x.numpy()})
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    write_atomic(path, tmp.read_bytes())
    tmp.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.classifier", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epochs", type=int, default=ClassifierConfig.epochs)
    parser.add_argument("--threads", type=int, default=ClassifierConfig.threads)
    parser.add_argument("--out", type=Path, default=ONNX_PATH, help="where the ONNX graph goes (JSON beside it)")
    args = parser.parse_args(argv)
    cfg = ClassifierConfig(epochs=args.epochs, threads=args.threads)
    model, acc, seconds = train(cfg)
    export(model, args.out)
    report = {
        "held_out_accuracy": acc,
        "train_seconds": round(seconds, 1),
        "command": COMMAND,
        "config": asdict(cfg),
        "trained_on": "training split (8,000 digits) in every domain listed under held_out_accuracy",
        "evaluated_on": "held-out split (2,000 digits) in each domain",
        "inputs": {"image": ["batch", 1, 28, 28]},
        "outputs": {"logits": ["batch", 10], "features": ["batch", cfg.feature_dim]},
        "torch": torch.__version__,
        "sha256": sha256_file(args.out),
    }
    write_atomic(args.out.with_suffix(".json"), (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(json.dumps({"held_out_accuracy": acc, "train_seconds": report["train_seconds"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
