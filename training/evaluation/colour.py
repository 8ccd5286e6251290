"""Evaluate an exported colour model trained on the embedded emoji, on the project's emoji feature network.

    from training.evaluation.colour import evaluate_colour_dir
    result = evaluate_colour_dir(Path("models/cgan-emoji/1"))        # same shape of result as the digit evaluation

The model runs through onnxruntime (no torch), as the service runs it. Which set it is compared with comes from
its manifest (provenance.config.data: ``emoji``, ``emoji-twemoji`` or ``emoji-noto2twemoji``). As for the digits,
n generated images (n = the held-out count, 286) are scored against the n held-out emoji, and the floor of every
distribution figure is n TRAINING emoji scored against the same held-out emoji (mean over 5 fixed subsets, the
spread beside it). Paired figures (class accuracy, category kept) have the classifier's own accuracy on the
held-out emoji of the target style as their floor; SSIM / L1 compare each translation with its true counterpart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from service.manifest import Kind, Manifest, Role, load_manifest
from training.data.arrays import Images, Pairs
from training.data.builtin import BUILTIN
from training.evaluation.embedding import ASSETS, DigitClassifier, Embedding, make_session
from training.evaluation.metrics.frechet import frechet_distance
from training.evaluation.metrics.kid import kid
from training.evaluation.metrics.precision_recall import precision_recall
from training.evaluation.metrics.ssim import ssim_per_image
from training.evaluation.sampling import EvaluationError, run_model
from training.evaluation.targets import Target

EMOJI_CLASSIFIER_ONNX = ASSETS / "emoji_classifier.onnx"
COLOUR_SETS = ("emoji", "emoji-twemoji", "emoji-noto2twemoji")
REFERENCE_SUBSETS = 5
NO_RATIO = {"class_min_share", "class_max_share", "classes_covered", "class_min_vs_real"}
TARGETS: dict[str, list[Target]] = {
    "unconditional": [Target("frechet_distance", "<=", 3.0, of_floor=True), Target("class_min_vs_real", ">=", 1 / 3)],
    "conditional": [Target("conditional_accuracy", ">=", 0.9, of_floor=True)],
    "translation": [Target("class_kept", ">=", 0.95, of_floor=True)],
}


def colour_set(manifest: Manifest) -> str | None:
    """The built-in colour set a model was trained on, or None (a digit model, or a user's own data)."""
    data = (manifest.provenance.get("config") or {}).get("data", "")
    return data if data in COLOUR_SETS else None


def _held_and_train(name: str) -> tuple[Images, Images]:
    """(held-out, train) Images of the set whose style the model writes: for pairs, the target (b) side."""
    train, held = BUILTIN[name].splits()
    if isinstance(train, Pairs) and isinstance(held, Pairs):
        labelled_train, labelled_held = BUILTIN["emoji-twemoji"].splits()
        assert isinstance(labelled_train, Images) and isinstance(labelled_held, Images)
        return labelled_held, labelled_train
    assert isinstance(train, Images) and isinstance(held, Images)
    return held, train


def _samples(manifest: Manifest, session: Any, name: str, n: int, seed: int, k: int) -> tuple[np.ndarray, Any]:
    """(images (n, 3, 32, 32) in [-1, 1], requested labels or None; for translators also the truth)."""
    rng = np.random.default_rng(seed)
    if manifest.kind is Kind.translation:
        _, held = BUILTIN[name].splits()
        if not isinstance(held, Pairs):
            raise EvaluationError(f"{manifest.name}: a translator needs a paired set, {name!r} is not one")
        return run_model(session, manifest, {Role.image: held.a[:n]}), held.b[:n]
    z = rng.standard_normal((n, manifest.latent_dim or 0)).astype(np.float32)
    feeds: dict[Role, np.ndarray] = {Role.noise: z}
    labels = None
    if manifest.kind is Kind.conditional:
        labels = np.arange(n, dtype=np.int64) % k
        feeds[Role.label] = labels
    return run_model(session, manifest, feeds), labels


def _shares(e: Embedding, k: int) -> np.ndarray:
    return np.bincount(e.predicted, minlength=k) / len(e)


def evaluate_colour_dir(version_dir: Path, seed: int = 0, classifier: DigitClassifier | None = None) -> dict[str, Any]:
    """Score ``version_dir/model.onnx`` (see the module docstring); the result has the digit evaluation's keys."""
    start = time.perf_counter()
    manifest = load_manifest(version_dir)
    name = colour_set(manifest)
    if name is None:
        raise EvaluationError(f"{manifest.name}: not trained on an embedded colour set ({', '.join(COLOUR_SETS)})")
    clf = classifier or DigitClassifier.load(EMOJI_CLASSIFIER_ONNX)
    k = len(clf.info.get("class_names", [])) or 9
    held, train = _held_and_train(name)
    n = len(held.images)
    images, extra = _samples(manifest, make_session(version_dir / manifest.onnx_file), name, n, seed, k)
    kind = manifest.kind.value
    labels = held.labels if manifest.kind is Kind.translation else extra
    fake, real = clf.embed(images, labels), clf.embed(held.images, held.labels)
    values: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    spread: dict[str, list[float]] = {}
    subsets = [np.sort(np.random.default_rng(s).choice(len(train.images), n, replace=False)) for s in range(5)]
    refs = [clf.embed(train.images[idx]) for idx in subsets]
    for fn in (frechet_distance, kid, precision_recall):
        values.update(fn(fake, real))
        draws = [fn(ref, real) for ref in refs]
        for key in draws[0]:
            per = np.array([d[key] for d in draws], dtype=np.float64)
            floor[key], spread[key] = float(per.mean()), [float(per.min()), float(per.max())]
    real_acc = float((real.predicted == held.labels).mean())
    if manifest.kind is Kind.unconditional:
        fake_s, real_s = _shares(fake, k), _shares(real, k)
        values.update(class_min_share=float(fake_s.min()), class_max_share=float(fake_s.max()),
                      classes_covered=float((fake_s >= 0.01).sum()), class_shares=[round(float(s), 4) for s in fake_s],
                      class_min_vs_real=float((fake_s / np.maximum(real_s, 1e-9)).min()))  # fmt: skip
        floor.update(class_min_share=float(real_s.min()), class_max_share=float(real_s.max()),
                     classes_covered=float((real_s >= 0.01).sum()), class_shares=[round(float(s), 4) for s in real_s],
                     class_min_vs_real=1.0)  # fmt: skip
    elif manifest.kind is Kind.conditional:
        values["conditional_accuracy"] = float((fake.predicted == extra).mean())
        floor["conditional_accuracy"] = real_acc
    else:
        truth = (np.clip(extra, -1, 1) + 1) / 2
        out = (np.clip(images, -1, 1) + 1) / 2
        values["ssim"] = float(ssim_per_image(out.reshape(-1, 32, 32), truth.reshape(-1, 32, 32)).mean())
        values["l1"] = float(np.abs(out - truth).mean())
        values["class_kept"] = float((fake.predicted == held.labels).mean())
        floor.update(ssim=1.0, l1=0.0, class_kept=real_acc)
    ratio = {
        key: v / floor[key]
        for key, v in values.items()
        if key not in NO_RATIO and isinstance(v, float) and isinstance(floor.get(key), float) and floor[key] > 0
    }
    targets = {}
    for t in TARGETS[kind]:
        ok = t.check(values[t.figure], floor.get(t.figure))
        targets[t.figure] = {**t.as_dict(), "target": t.describe(), "pass": ok}
    return {
        "model": manifest.name, "version": manifest.version, "kind": kind, "data": name,
        "task": None, "direction": manifest.provenance.get("direction"), "sha256": manifest.sha256, "n": n,
        "seed": seed, "classifier_sha256": clf.info.get("sha256"), "metrics": values, "floor": floor,
        "floor_range": spread, "floor_subsets": REFERENCE_SUBSETS, "ratio": ratio, "targets": targets,
        "passed": all(t["pass"] is True for t in targets.values()), "seconds": round(time.perf_counter() - start, 2),
    }  # fmt: skip


def colour_tiles(version_dir: Path, manifest: Manifest, name: str) -> tuple[np.ndarray, int]:
    """(images, per row) for the grid of a colour model: 8x8 samples, one row per class, or (input, output,
    truth) triples of 24 held-out emoji, 3 triples per row."""
    session = make_session(version_dir / manifest.onnx_file)
    rng = np.random.default_rng(0)
    if manifest.kind is Kind.translation:
        _, held = BUILTIN[name].splits()
        assert isinstance(held, Pairs)
        out = run_model(session, manifest, {Role.image: held.a[:24]})
        return np.stack([held.a[:24], out, held.b[:24]], axis=1).reshape(-1, *out.shape[1:]), 9
    if manifest.kind is Kind.conditional:
        k = manifest.num_classes or 1
        labels = np.repeat(np.arange(k, dtype=np.int64), 10)
        z = rng.standard_normal((10 * k, manifest.latent_dim or 0)).astype(np.float32)
        return run_model(session, manifest, {Role.noise: z, Role.label: labels}), 10
    z = rng.standard_normal((64, manifest.latent_dim or 0)).astype(np.float32)
    return run_model(session, manifest, {Role.noise: z}), 8
