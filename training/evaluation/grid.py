"""Sample grids of an exported model, drawn through onnxruntime (no torch), for the results page.

    save_model_grid(Path("models/dcgan-mnist/1"), Path("docs/img/dcgan-mnist.png"))

Unconditional: 8 x 8 samples from fixed noise. Conditional: one row per class 0-9. Translation: columns of
input, output and ground truth for 8 held-out digits in each of 3 column groups (the task's fixed evaluation seed).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from service.manifest import Kind, Role, load_manifest, write_atomic
from training.data.mnist import load_split, to_unit_range
from training.evaluation.embedding import make_session
from training.evaluation.sampling import run_model, task_domains, translation_setup, translator_input

GRID_SEED = 0


def grid_array(images: np.ndarray, nrow: int, pad: int = 2) -> np.ndarray:
    """images (N, 1, H, W) in [-1, 1] -> uint8 grid with nrow images per row, on a grey background."""
    x = np.round((np.clip(images[:, 0], -1, 1) + 1) * 127.5).astype(np.uint8)
    n, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), 128, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = x[i]
    return out


def model_grid(version_dir: Path) -> np.ndarray:
    """The grid of one exported model as a uint8 array (see the module docstring for the layout)."""
    manifest = load_manifest(version_dir)
    session = make_session(version_dir / manifest.onnx_file)
    rng = np.random.default_rng(GRID_SEED)
    if manifest.kind is Kind.translation:
        task, direction = translation_setup(manifest)
        _, held_out = load_split()
        src, truth = task_domains(task, direction, held_out.images[:24])
        out = run_model(session, manifest, {Role.image: translator_input(manifest, src)})
        # rows of 9: (input, output, truth) x 3 digits
        triples = np.stack([to_unit_range(src), out, to_unit_range(truth)], axis=1).reshape(8, 3, 3, 1, 28, 28)
        return grid_array(triples.reshape(-1, 1, 28, 28), nrow=9)
    if manifest.kind is Kind.conditional:
        labels = np.repeat(np.arange(10, dtype=np.int64), 10)
        z = rng.standard_normal((100, manifest.latent_dim or 0)).astype(np.float32)
        return grid_array(run_model(session, manifest, {Role.noise: z, Role.label: labels}), nrow=10)
    z = rng.standard_normal((64, manifest.latent_dim or 0)).astype(np.float32)
    return grid_array(run_model(session, manifest, {Role.noise: z}), nrow=8)


def save_model_grid(version_dir: Path, path: Path, scale: int = 2) -> None:
    """Write the model's grid as a PNG, upscaled `scale`x (nearest), atomically."""
    img = Image.fromarray(model_grid(version_dir))
    img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    write_atomic(path, buf.getvalue())
