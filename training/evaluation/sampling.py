"""Run an exported model through onnxruntime to get the images to evaluate, exactly as the service would.

    samples = sample(manifest, session, n=2000, seed=0, held_out=held_out)
    samples.images   # float32 (n, 1, 28, 28) in [-1, 1]
    samples.labels   # requested label (conditional) or true class of the input (translation); None otherwise
    samples.truth    # translation only: the ground-truth images, float32 (n, 1, 28, 28) in [-1, 1]

Unconditional and conditional models get z ~ N(0, I) from a seeded generator; conditional models get the labels
0, 1, ..., 9, 0, 1, ... so every class is asked for equally often. Translators get the held-out digits in their
source domain, made by the task with a fixed seed, and are scored against the same digits in the target domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from service.manifest import Kind, Manifest, Role
from training.data.mnist import Digits, to_unit_range
from training.data.tasks import get_task

TASK_SEED = 1234  # noise of the task corruptions on the held-out digits: fixed, so every evaluation sees one input
BATCH = 500
DIRECTIONS = ("a2b", "b2a")


class EvaluationError(ValueError):
    """A model cannot be evaluated as declared; the message says what to fix."""


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # (n, 1, 28, 28) float32 in [-1, 1]
    labels: np.ndarray | None
    truth: np.ndarray | None = None


def translation_setup(manifest: Manifest) -> tuple[str, str]:
    """(task name, direction) from manifest.provenance, checked."""
    task = manifest.provenance.get("task")
    direction = manifest.provenance.get("direction", "a2b")
    if not task:
        raise EvaluationError(f"{manifest.name}: a translator's manifest needs provenance['task'] (e.g. 'thicken')")
    if direction not in DIRECTIONS:
        raise EvaluationError(
            f"{manifest.name}: provenance['direction'] must be one of {DIRECTIONS}, got {direction!r}"
        )
    try:
        get_task(task)
    except ValueError as e:
        raise EvaluationError(f"{manifest.name}: {e}") from e
    return task, direction


def task_domains(task: str, direction: str, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """clean uint8 (N, 28, 28) -> (input, truth) uint8 for this task and direction."""
    a, b = get_task(task).make(clean, TASK_SEED)
    return (a, b) if direction == "a2b" else (b, a)


def _rescale(x: np.ndarray, src: tuple[float, float], dst: tuple[float, float]) -> np.ndarray:
    if tuple(src) == tuple(dst):
        return x
    return ((x - src[0]) / (src[1] - src[0]) * (dst[1] - dst[0]) + dst[0]).astype(np.float32)


def _check_shapes(manifest: Manifest) -> None:
    img = manifest.image
    if (img.channels, img.height, img.width) != (1, 28, 28):
        raise EvaluationError(
            f"{manifest.name}: the digit classifier reads 1x28x28 images, the model makes "
            f"{img.channels}x{img.height}x{img.width}"
        )
    if manifest.kind is Kind.conditional and manifest.num_classes != 10:
        raise EvaluationError(
            f"{manifest.name}: conditional accuracy needs the 10 digit classes, got {manifest.num_classes}"
        )


def translator_input(manifest: Manifest, src: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) source-domain digits -> the translator's input tensor, in its declared range and dtype."""
    x = _rescale(to_unit_range(src), (-1.0, 1.0), manifest.input_range)
    return x.astype(manifest.inputs[Role.image].dtype)


def run_model(session: ort.InferenceSession, manifest: Manifest, feeds: dict[Role, np.ndarray]) -> np.ndarray:
    out_name = manifest.outputs["image"].name
    n = len(next(iter(feeds.values())))
    chunks = []
    for i in range(0, n, BATCH):
        batch = {manifest.inputs[role].name: x[i : i + BATCH] for role, x in feeds.items()}
        chunks.append(session.run([out_name], batch)[0])
    images = np.concatenate(chunks).astype(np.float32)
    img = manifest.image
    if images.shape != (n, img.channels, img.height, img.width):
        want = (n, img.channels, img.height, img.width)
        raise EvaluationError(f"{manifest.name}: expected images {want}, the graph returned {images.shape}")
    if not np.isfinite(images).all():
        raise EvaluationError(f"{manifest.name}: the graph returned NaN or infinite pixels")
    return np.clip(_rescale(images, manifest.output_range, (-1.0, 1.0)), -1, 1)


def sample(manifest: Manifest, session: ort.InferenceSession, n: int, seed: int, held_out: Digits) -> Samples:
    _check_shapes(manifest)
    rng = np.random.default_rng(seed)
    if manifest.kind is Kind.translation:
        task, direction = translation_setup(manifest)
        src, truth = task_domains(task, direction, held_out.images[:n])
        images = run_model(session, manifest, {Role.image: translator_input(manifest, src)})
        return Samples(images, held_out.labels[:n], to_unit_range(truth))
    noise_spec = manifest.inputs[Role.noise]
    z = rng.standard_normal((n, manifest.latent_dim or 0)).astype(noise_spec.dtype)
    feeds: dict[Role, np.ndarray] = {Role.noise: z}
    labels = None
    if manifest.kind is Kind.conditional:
        labels = np.arange(n, dtype=np.int64) % 10
        feeds[Role.label] = labels
    return Samples(run_model(session, manifest, feeds), labels)
