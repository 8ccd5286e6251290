"""Sample grids of an exported model, drawn through onnxruntime (no torch), for the results page.

    save_model_grid(Path("models/dcgan-mnist/1"), Path("docs/img/dcgan-mnist.png"))

Unconditional: 8 x 8 samples from fixed noise. Conditional: one row per class 0-9. Translation: columns of
input, output and ground truth for 8 held-out digits in each of 3 column groups (the task's fixed evaluation seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.manifest import Kind, Role, load_manifest, write_atomic
from training.data.mnist import load_split, to_unit_range
from training.evaluation.colour import colour_set, colour_tiles
from training.evaluation.embedding import make_session
from training.evaluation.sampling import run_model, task_domains, translation_setup, translator_input
from training.images import grid_array, grid_png

GRID_SEED = 0


def model_grid(version_dir: Path) -> np.ndarray:
    """The grid of one exported model as a uint8 array (see the module docstring for the layout)."""
    return grid_array(*model_tiles(version_dir))


def model_tiles(version_dir: Path) -> tuple[np.ndarray, int]:
    """(images (N, C, H, W) in [-1, 1], images per row) for the grid of one exported model."""
    manifest = load_manifest(version_dir)
    name = colour_set(manifest)
    if name:
        return colour_tiles(version_dir, manifest, name)
    session = make_session(version_dir / manifest.onnx_file)
    rng = np.random.default_rng(GRID_SEED)
    if manifest.kind is Kind.translation:
        task, direction = translation_setup(manifest)
        _, held_out = load_split()
        src, truth = task_domains(task, direction, held_out.images[:24])
        out = run_model(session, manifest, {Role.image: translator_input(manifest, src)})
        # rows of 9: (input, output, truth) x 3 digits
        triples = np.stack([to_unit_range(src), out, to_unit_range(truth)], axis=1).reshape(8, 3, 3, 1, 28, 28)
        return triples.reshape(-1, 1, 28, 28), 9
    if manifest.kind is Kind.conditional:
        labels = np.repeat(np.arange(10, dtype=np.int64), 10)
        z = rng.standard_normal((100, manifest.latent_dim or 0)).astype(np.float32)
        return run_model(session, manifest, {Role.noise: z, Role.label: labels}), 10
    z = rng.standard_normal((64, manifest.latent_dim or 0)).astype(np.float32)
    return run_model(session, manifest, {Role.noise: z}), 8


def save_model_grid(version_dir: Path, path: Path, scale: int = 2) -> None:
    """Write the model's grid as a PNG, upscaled `scale`x (nearest), atomically."""
    images, nrow = model_tiles(version_dir)
    write_atomic(path, grid_png(images, nrow, scale))
