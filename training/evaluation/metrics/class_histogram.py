"""The generated class histogram, as the digit classifier reads it: the mode-coverage view of a generator.

A generator that collapses onto a few digits shows a large maximum share and a small minimum share. A class counts
as covered when it gets at least 1% of the samples (a tenth of its fair share), so a few stray samples do not count.
"""

from __future__ import annotations

import numpy as np

from training.evaluation.embedding import Embedding

NUM_CLASSES = 10
COVERED_SHARE = 0.01


def class_histogram(fake: Embedding, real: Embedding) -> dict[str, float | list[float]]:
    del real  # a property of one set
    shares = np.bincount(fake.predicted, minlength=NUM_CLASSES) / len(fake)
    return {
        "class_min_share": float(shares.min()),
        "class_max_share": float(shares.max()),
        "classes_covered": float((shares >= COVERED_SHARE).sum()),
        "class_shares": [round(float(s), 4) for s in shares],
    }
