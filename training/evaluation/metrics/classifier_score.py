"""Inception-style score (Salimans et al., 2016) from the digit classifier: exp(E_x KL(p(y|x) || p(y))).

High when each image is classified confidently AND the classes are spread evenly; its maximum is 10 here.
Computed on the whole set in one split (the usual 10 splits assume 50,000 images).
"""

from __future__ import annotations

import numpy as np

from training.evaluation.embedding import Embedding


def classifier_score(fake: Embedding, real: Embedding) -> dict[str, float]:
    del real  # a score of one set
    p = np.clip(fake.probs, 1e-12, 1.0)  # (N, 10)
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p) - np.log(marginal))).sum(axis=1)
    return {"classifier_score": float(np.exp(kl.mean()))}
