"""Evaluate one exported model version on the project's digit classifier, beside its real-vs-real floor.

    from training.evaluation import evaluate_model_dir
    result = evaluate_model_dir(Path("models/dcgan-mnist/1"), n=2000, seed=0)
    result["metrics"]["frechet_distance"], result["floor"]["frechet_distance"], result["passed"]

The model runs through onnxruntime (no torch), so this measures exactly the file the service serves. The model's
n images are scored against n held-out digits; the floor scores n training digits against the same held-out digits
(for paired figures: the held-out truth against itself), so every figure has a reference at the same sample count.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from service.manifest import Kind, Manifest, load_manifest
from training.data.mnist import N_HELD_OUT, Digits, load_split, to_unit_range
from training.data.tasks import get_task
from training.evaluation.colour import colour_set, evaluate_colour_dir
from training.evaluation.embedding import DigitClassifier, Embedding, make_session
from training.evaluation.metrics import metrics_for
from training.evaluation.sampling import EvaluationError, sample, task_domains, translation_setup
from training.evaluation.targets import targets_for

# Shares and counts have no meaningful "x floor"; every other scalar figure gets a ratio where the floor is positive.
NO_RATIO = {"class_min_share", "class_max_share", "classes_covered"}
# The floor of a distribution figure is itself a random draw: across subsets of 2,000 training digits the
# Fréchet distance floor ranges over about +-25 %. It is therefore the mean over a few fixed subsets (seeds
# 0..REFERENCE_SUBSETS-1, the same for every model), and the spread is reported beside it.
REFERENCE_SUBSETS = 5


def reference_indices(n: int, subset: int, n_train: int) -> np.ndarray:
    """Which n training digits form reference subset `subset` of the floor."""
    return np.sort(np.random.default_rng(subset).choice(n_train, n, replace=False))


def _reference(manifest: Manifest, train: Digits, n: int, subset: int) -> np.ndarray:
    """n training digits in the domain the model writes into, float32 (n, 1, 28, 28) in [-1, 1]."""
    clean = train.images[reference_indices(n, subset, len(train))]
    if manifest.kind is Kind.translation:
        task, direction = translation_setup(manifest)
        return to_unit_range(task_domains(task, direction, clean)[1])
    return to_unit_range(clean)


def _compare(
    kind: str, fake: Embedding, real: Embedding, refs: list[Embedding]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[float]]]:
    """(values, floor, floor_range): floor is the mean over the reference subsets, floor_range its [min, max]."""
    values: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    spread: dict[str, list[float]] = {}
    for metric in metrics_for(kind):
        values.update(metric.fn(fake, real))
        if metric.paired:
            floor.update(metric.fn(real, real))
            continue
        draws = [metric.fn(ref, real) for ref in refs]
        for key in draws[0]:
            per = np.array([d[key] for d in draws], dtype=np.float64)  # (subsets,) or (subsets, classes)
            floor[key] = [round(float(v), 4) for v in per.mean(0)] if per.ndim > 1 else float(per.mean())
            if per.ndim == 1:
                spread[key] = [float(per.min()), float(per.max())]
    return values, floor, spread


def evaluate_model_dir(
    version_dir: Path, n: int = 2000, seed: int = 0, classifier: DigitClassifier | None = None
) -> dict[str, Any]:
    """Score ``version_dir/model.onnx`` on n samples; returns a JSON-ready dict with "metrics", "floor", "ratio",
    "targets" ({figure: {op, value, of_floor, pass}}) and "passed" (every target met)."""
    version_dir = Path(version_dir)
    manifest = load_manifest(version_dir)
    if colour_set(manifest):  # a colour model on the embedded emoji: its own feature network and sets
        return evaluate_colour_dir(version_dir, seed)
    data = (manifest.provenance.get("config") or {}).get("data", "")
    if data not in ("", "digits"):
        raise EvaluationError(f"{manifest.name}: trained on {data!r}; evaluation has reference sets and feature "
                              "networks for the embedded digits and emoji only")  # fmt: skip
    if not 10 <= n <= N_HELD_OUT:
        raise EvaluationError(f"n must be between 10 and {N_HELD_OUT} (the held-out split), got {n}")
    start = time.perf_counter()
    clf = classifier or DigitClassifier.load()
    session = make_session(version_dir / manifest.onnx_file)
    train, held_out = load_split()
    held_out = Digits(held_out.images[:n], held_out.labels[:n])
    samples = sample(manifest, session, n, seed, held_out)

    real_images = samples.truth if samples.truth is not None else to_unit_range(held_out.images)
    fake = clf.embed(samples.images, samples.labels)
    real = clf.embed(real_images, held_out.labels)
    refs = [clf.embed(_reference(manifest, train, n, s)) for s in range(REFERENCE_SUBSETS)]
    kind = manifest.kind.value
    values, floor, floor_range = _compare(kind, fake, real, refs)

    task = direction = None
    paired = None
    if manifest.kind is Kind.translation:
        task, direction = translation_setup(manifest)
        paired = get_task(task).paired
    ratio = {
        k: v / floor[k]
        for k, v in values.items()
        if k not in NO_RATIO and isinstance(v, float) and isinstance(floor.get(k), float) and floor[k] > 0
    }
    targets = {}
    for t in targets_for(kind, paired):
        ok = t.check(values[t.figure], floor.get(t.figure))
        targets[t.figure] = {**t.as_dict(), "target": t.describe(), "pass": ok}
    return {
        "model": manifest.name,
        "version": manifest.version,
        "kind": kind,
        "task": task,
        "direction": direction,
        "sha256": manifest.sha256,
        "n": n,
        "seed": seed,
        "classifier_sha256": clf.info.get("sha256"),
        "metrics": values,
        "floor": floor,
        "floor_range": floor_range,
        "floor_subsets": REFERENCE_SUBSETS,
        "ratio": ratio,
        "targets": targets,
        "passed": all(t["pass"] is True for t in targets.values()),
        "seconds": round(time.perf_counter() - start, 2),
    }
