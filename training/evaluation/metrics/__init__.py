"""The metric registry: one small file per metric, each a function (fake, real) -> {figure: value}.

    from training.evaluation.metrics import METRICS
    METRICS["frechet_distance"].fn(fake_embedding, real_embedding)   # {"frechet_distance": 12.3}

``fake`` is what the model made; ``real`` is the held-out reference. ``kinds`` says which model kinds a metric
applies to. ``paired`` metrics compare image i of ``fake`` with image i (or label i) of the truth; their real-vs-real
floor is the held-out set scored against itself (SSIM 1, L1 0, class kept = the classifier's own accuracy). The
others compare distributions; their floor is 2,000 training images scored against the same held-out reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from training.evaluation.embedding import Embedding
from training.evaluation.metrics.class_histogram import class_histogram
from training.evaluation.metrics.class_kept import class_kept
from training.evaluation.metrics.classifier_score import classifier_score
from training.evaluation.metrics.conditional_accuracy import conditional_accuracy
from training.evaluation.metrics.frechet import frechet_distance
from training.evaluation.metrics.kid import kid
from training.evaluation.metrics.l1 import l1
from training.evaluation.metrics.precision_recall import precision_recall
from training.evaluation.metrics.ssim import ssim

GENERATORS = frozenset({"unconditional", "conditional"})
ALL = GENERATORS | {"translation"}


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[Embedding, Embedding], dict[str, Any]]
    kinds: frozenset[str]
    paired: bool = False


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("frechet_distance", frechet_distance, ALL),
        Metric("kid", kid, ALL),
        Metric("classifier_score", classifier_score, GENERATORS),
        Metric("precision_recall", precision_recall, ALL),
        Metric("class_histogram", class_histogram, GENERATORS),
        Metric("conditional_accuracy", conditional_accuracy, frozenset({"conditional"}), paired=True),
        Metric("ssim", ssim, frozenset({"translation"}), paired=True),
        Metric("l1", l1, frozenset({"translation"}), paired=True),
        Metric("class_kept", class_kept, frozenset({"translation"}), paired=True),
    ]
}

# Human-readable names of each figure, in the order tables show them.
TITLES: dict[str, str] = {
    "frechet_distance": "Fréchet distance (classifier features)",
    "kid": "KID (cubic polynomial kernel, unbiased)",
    "classifier_score": "Classifier score (inception-style, max 10)",
    "precision": "Precision (k=3)",
    "recall": "Recall (k=3)",
    "class_min_share": "Smallest class share",
    "class_max_share": "Largest class share",
    "classes_covered": "Classes covered (>= 1% of samples)",
    "class_min_vs_real": "Smallest class share / its real share",
    "conditional_accuracy": "Conditional accuracy",
    "ssim": "SSIM vs ground truth",
    "l1": "L1 vs ground truth ([0, 1] scale)",
    "class_kept": "Class kept",
}


def metrics_for(kind: str) -> list[Metric]:
    return [m for m in METRICS.values() if kind in m.kinds]
