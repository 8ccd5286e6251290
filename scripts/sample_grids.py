"""Render a sample grid of each shipped model from its exported ONNX file (what the service serves).

    python scripts/sample_grids.py            # -> docs/img/samples-<name>.png for every model in models/

Generators: 8 rows of seeded noise (seeds 0..N-1, the service's noise recipe); conditional models one column per
class. Translators: rows of held-out sources, translations, and ground truth.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.manifest import load_manifest
from training.data.mnist import load_split, to_unit_range
from training.data.tasks import get_task
from training.images import save_grid


def noise(seeds: range, dim: int) -> np.ndarray:
    return np.stack([np.random.default_rng(s).standard_normal(dim, dtype=np.float32) for s in seeds])


def render(version_dir: Path, out: Path) -> None:
    m = load_manifest(version_dir)
    sess = ort.InferenceSession(str(version_dir / m.onnx_file), providers=["CPUExecutionProvider"])
    if m.kind.value == "translation":
        task, direction = get_task(m.provenance["task"]), m.provenance["direction"]
        _, held_out = load_split()
        a, b = task.make(held_out.images[:8], seed=1234)
        src, truth = (a, b) if direction == "a2b" else (b, a)
        x = to_unit_range(src)
        y = sess.run(None, {m.inputs["image"].name: x})[0]
        images, nrow = np.concatenate([x, y, to_unit_range(truth)]), 8
    elif m.kind.value == "conditional":
        k = m.num_classes or 10
        z = np.repeat(noise(range(8), m.latent_dim or 0), k, axis=0)
        labels = np.tile(np.arange(k, dtype=np.int64), 8)
        feeds = {m.inputs["noise"].name: z, m.inputs["label"].name: labels}
        images, nrow = sess.run(None, feeds)[0], k
    else:
        images, nrow = sess.run(None, {m.inputs["noise"].name: noise(range(64), m.latent_dim or 0)})[0], 8
    save_grid(images, out, nrow)
    print(out.relative_to(REPO))


def main() -> int:
    for version_dir in sorted((REPO / "models").glob("*/1")):
        render(version_dir, REPO / "docs" / "img" / f"samples-{version_dir.parent.name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
