"""What the figures say about known damage: real training digits, degraded on purpose, scored like a generator.

    rows = calibration_rows()      # [(description, {figure: value}), ...], the first row is the floor itself

A ratio like "10x the floor" means little on its own; these rows show what real images look like at a given
ratio (noise, blur, too many of one class, half the classes dropped, a few images repeated), so a reader can place
a generator's numbers. The degradations are deterministic (fixed seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from training.data.mnist import load_split, to_unit_range
from training.evaluation.embedding import DigitClassifier
from training.evaluation.evaluate import reference_indices
from training.evaluation.metrics import metrics_for

N = 2000


def _box_blur(x: np.ndarray) -> np.ndarray:
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0)
    out = np.zeros_like(x)
    for dy in range(3):
        for dx in range(3):
            out += p[:, :, dy : dy + 28, dx : dx + 28]
    return out / 9


def calibration_rows(classifier: DigitClassifier | None = None) -> list[tuple[str, dict[str, Any]]]:
    clf = classifier or DigitClassifier.load()
    train, held_out = load_split()
    real = clf.embed(to_unit_range(held_out.images[:N]), held_out.labels[:N])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(train))
    x = to_unit_range(train.images[reference_indices(N, 0, len(train))])
    ones, others = order[train.labels[order] == 1], order[train.labels[order] != 1]
    low_half = order[train.labels[order] < 5]
    cases: list[tuple[str, Callable[[], np.ndarray]]] = [
        ("2,000 training digits (floor reference subset 0)", lambda: x),
        ("same, Gaussian pixel noise sigma 0.1 (5% of the range)", lambda: np.clip(x + rng.normal(0, 0.1, x.shape), -1, 1)),
        ("same, Gaussian pixel noise sigma 0.2", lambda: np.clip(x + rng.normal(0, 0.2, x.shape), -1, 1)),
        ("same, 3x3 box blur", lambda: _box_blur(x)),
        ("20% ones (the other classes share the rest)", lambda: to_unit_range(train.images[np.r_[ones[:400], others[:1600]]])),
        ("only the digits 0-4 (half the modes dropped)", lambda: to_unit_range(train.images[low_half[:N]])),
        ("100 distinct digits, each repeated 20 times", lambda: np.tile(x[:100], (20, 1, 1, 1))),
    ]  # fmt: skip
    rows = []
    for name, make in cases:
        fake = clf.embed(make().astype(np.float32))
        figures: dict[str, Any] = {}
        for metric in metrics_for("unconditional"):
            figures.update(metric.fn(fake, real))
        rows.append((name, figures))
    return rows
