"""What the digit classifier sees in a set of images: its logits and its penultimate features.

    clf = DigitClassifier.load()                 # the shipped assets/digit_classifier.onnx, via onnxruntime
    emb = clf.embed(images)                      # images float32 (N, 1, 28, 28) in [-1, 1]
    emb.features  # (N, 128)    emb.logits  # (N, 10)    emb.predicted  # (N,) int64

Every metric is a function of Embeddings, so the classifier runs once per image set, not once per metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

ASSETS = Path(__file__).resolve().parent / "assets"
CLASSIFIER_ONNX = ASSETS / "digit_classifier.onnx"


@dataclass(frozen=True)
class Embedding:
    """One image set as the classifier sees it, plus what we know about each image."""

    images: np.ndarray  # (N, 1, 28, 28) float32 in [-1, 1]
    features: np.ndarray  # (N, D) float64
    logits: np.ndarray  # (N, 10) float64
    labels: np.ndarray | None = None  # (N,) int64: the true or requested class, where one exists

    def __len__(self) -> int:
        return len(self.images)

    @property
    def predicted(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    @property
    def probs(self) -> np.ndarray:
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def make_session(path: Path, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # the machine is shared; two cores is all we ever have
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class DigitClassifier:
    """The project's digit classifier behind onnxruntime; the session is injectable for tests."""

    def __init__(self, session: ort.InferenceSession, info: dict[str, Any] | None = None, batch_size: int = 500):
        self.session = session
        self.info = info or {}
        self.batch_size = batch_size

    @classmethod
    def load(cls, path: Path = CLASSIFIER_ONNX) -> DigitClassifier:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; rebuild it with `python -m training.evaluation.classifier`")
        report = path.with_suffix(".json")
        info = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
        return cls(make_session(path), info)

    def embed(self, images: np.ndarray, labels: np.ndarray | None = None) -> Embedding:
        """images float32 (N, C, H, W) in [-1, 1], the shape the graph declares -> Embedding."""
        want = tuple(self.session.get_inputs()[0].shape[1:])
        if images.ndim != 4 or images.shape[1:] != want:
            raise ValueError(f"this classifier takes (N, {', '.join(map(str, want))}) images, got {images.shape}")
        images = np.ascontiguousarray(images, dtype=np.float32)
        logits, feats = [], []
        for i in range(0, len(images), self.batch_size):
            lg, ft = self.session.run(["logits", "features"], {"image": images[i : i + self.batch_size]})
            logits.append(lg)
            feats.append(ft)
        return Embedding(
            images=images,
            features=np.concatenate(feats).astype(np.float64),
            logits=np.concatenate(logits).astype(np.float64),
            labels=labels,
        )
