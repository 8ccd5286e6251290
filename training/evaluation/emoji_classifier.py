"""Train the project's colour feature network: an emoji-category classifier, shipped as ONNX plus a JSON report.

    nice -n 10 python -m training.evaluation.emoji_classifier        # a few minutes on 2 CPU threads

No Inception weights here, so the colour figures (Fréchet distance, KID, precision/recall, class shares, class
accuracy, category kept) are computed on this network, as the digit figures are on the digit classifier. It is
trained on the TRAINING split of the embedded emoji only (``training.data.builtin``), in both styles (Noto and
Twemoji), to tell the 9 Unicode categories apart; its held-out accuracy per style is the floor that generated
images are compared with. Graph: ``image`` float32 (N, 3, 32, 32) in [-1, 1] -> ``logits`` (N, 9) and
``features`` (N, 128), the penultimate layer the distribution figures use.
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
from training.data.arrays import Images
from training.data.builtin import BUILTIN
from training.evaluation.classifier import export

ASSETS = Path(__file__).resolve().parent / "assets"
ONNX_PATH = ASSETS / "emoji_classifier.onnx"
COMMAND = "nice -n 10 python -m training.evaluation.emoji_classifier"
STYLES = {"noto": "emoji", "twemoji": "emoji-twemoji"}  # style -> built-in data set


@dataclass(frozen=True)
class EmojiClassifierConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3  # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    width: int = 16  # channels of the first block; doubled in each of the next two
    feature_dim: int = 128
    max_shift_px: int = 2  # random shifts (white fill) and left-right flips
    seed: int = 0
    threads: int = 2


class EmojiNet(nn.Module):
    """Three VGG-style blocks (32 -> 16 -> 8 -> 4), a 128-wide feature layer and a linear head."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 9) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                    nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                    nn.MaxPool2d(2)]  # fmt: skip

        w = width
        self.body = nn.Sequential(*block(3, w), *block(w, 2 * w), *block(2 * w, 4 * w), nn.Flatten())
        self.features = nn.Linear(4 * w * 4 * 4, feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 3, 32, 32) in [-1, 1] -> (logits (N, K), features (N, feature_dim))."""
        feats = self.features(self.body(x))
        return self.head(feats), feats


def splits() -> tuple[dict[str, Images], dict[str, Images]]:
    """(train, held_out), each {style: Images} for both emoji styles."""
    train, held = {}, {}
    for style, name in STYLES.items():
        tr, ho = BUILTIN[name].splits()
        assert isinstance(tr, Images) and isinstance(ho, Images)
        train[style], held[style] = tr, ho
    return train, held


def augment(x: torch.Tensor, cfg: EmojiClassifierConfig, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to max_shift_px (white fill) and random left-right flips of a batch (N, 3, 32, 32)."""
    s = cfg.max_shift_px
    padded = F.pad(x, (s, s, s, s), value=1.0)
    n, _, h, w = x.shape
    dy, dx = torch.randint(0, 2 * s + 1, (2,), generator=gen).tolist()
    out = padded[:, :, dy : dy + h, dx : dx + w]
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


@torch.no_grad()
def accuracy(model: EmojiNet, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    logits = model(torch.from_numpy(images))[0]
    return float((logits.argmax(1).numpy() == labels).mean())


def train(cfg: EmojiClassifierConfig) -> tuple[EmojiNet, dict[str, float], float, list[str]]:
    """Train on both styles of the training split; return (model, held-out accuracy per style, seconds, classes)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    train_sets, held_sets = splits()
    names = train_sets["noto"].class_names or []
    x = torch.from_numpy(np.concatenate([s.images for s in train_sets.values()]))  # (2 * N_train, 3, 32, 32)
    y = torch.from_numpy(np.concatenate([s.labels for s in train_sets.values() if s.labels is not None]))
    model = EmojiNet(cfg.width, cfg.feature_dim, len(names))
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
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{cfg.epochs}  loss {total / len(x):.4f}  {time.perf_counter() - start:.0f}s",
              flush=True)  # fmt: skip
    acc = {style: accuracy(model, s.images, s.labels) for style, s in held_sets.items() if s.labels is not None}
    return model, acc, time.perf_counter() - start, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluation.emoji_classifier",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--epochs", type=int, default=EmojiClassifierConfig.epochs)
    parser.add_argument("--threads", type=int, default=EmojiClassifierConfig.threads)
    parser.add_argument("--out", type=Path, default=ONNX_PATH, help="where the ONNX graph goes (JSON beside it)")
    args = parser.parse_args(argv)
    cfg = EmojiClassifierConfig(epochs=args.epochs, threads=args.threads)
    model, acc, seconds, names = train(cfg)
    export(model.eval(), args.out, (3, 32, 32))
    report = {
        "held_out_accuracy": acc,
        "class_names": names,
        "train_seconds": round(seconds, 1),
        "command": COMMAND,
        "config": asdict(cfg),
        "trained_on": "training split of the embedded emoji (85 %), Noto and Twemoji styles",
        "evaluated_on": "held-out split (15 %), each style",
        "inputs": {"image": ["batch", 3, 32, 32]},
        "outputs": {"logits": ["batch", len(names)], "features": ["batch", cfg.feature_dim]},
        "torch": torch.__version__,
        "sha256": sha256_file(args.out),
    }
    write_atomic(args.out.with_suffix(".json"), (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(json.dumps({"held_out_accuracy": acc, "train_seconds": report["train_seconds"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
