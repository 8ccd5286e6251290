"""What each output format costs per image: the measurement behind GANSERVE_PNG_LEVEL's default and the quality/speed
settings of the lossy formats.

    python -m bench.codecs                      # the 64x64 RGB reference and the shipped dcgan-mnist, ~1 minute

For each model, 64 seeded images are generated once with onnxruntime; then every encoder setting runs over all of
them several times and the fastest pass is kept (CPU time of this thread, so a busy machine inflates it less than
wall time). Prints a Markdown table: milliseconds per image and bytes per image.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from service.adapters import generator_feeds, output_nchw
from service.codecs import to_uint8
from service.formats import Codec, Format, encode_image
from service.manifest import load_manifest
from service.noise import seeded_noise

SETTINGS: list[tuple[str, Format, Codec]] = [
    *((f"png level {lvl}", Format.png, Codec(png_level=lvl)) for lvl in (0, 1, 3, 6, 9)),
    *((f"jpeg quality {q}", Format.jpeg, Codec(jpeg_quality=q)) for q in (75, 90)),
    *((f"webp quality {q}", Format.webp, Codec(webp_quality=q)) for q in (75, 90)),
]


def images(version_dir: Path, n: int = 64) -> np.ndarray:
    """(n, H, W, C) uint8: seeds 0..n-1 through the model (class seed % classes for conditional ones)."""
    m = load_manifest(version_dir)
    session = ort.InferenceSession(str(version_dir / m.onnx_file), providers=["CPUExecutionProvider"])
    labels = np.arange(n, dtype=np.int64) % m.num_classes if m.num_classes else None
    rows = session.run([m.outputs["image"].name], generator_feeds(m, seeded_noise(range(n), m.latent_dim or 0), labels))
    return to_uint8(output_nchw(m, rows[0]), m.output_range)


def cost(encode: Callable[[np.ndarray], bytes], pixels: np.ndarray, passes: int = 5) -> tuple[float, float]:
    """(CPU ms per image, bytes per image), the fastest of `passes` passes."""
    best, size = float("inf"), 0
    for _ in range(passes):
        started = time.thread_time()
        size = sum(len(encode(p)) for p in pixels)
        best = min(best, time.thread_time() - started)
    return 1e3 * best / len(pixels), size / len(pixels)


def table(models: dict[str, Path]) -> str:
    pixels = {name: images(path) for name, path in models.items()}
    head = " | ".join(f"{name} ms | {name} bytes" for name in pixels)
    lines = [f"| encoder | {head} |", "|---|" + "---:|" * 2 * len(pixels)]
    for label, fmt, codec in SETTINGS:
        cells = []
        for p in pixels.values():
            ms, size = cost(lambda x, f=fmt, c=codec: encode_image(x, f, c), p)
            cells.append(f"{ms:.3f} | {size:.0f}")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    shapes = ", ".join(f"{name} {p.shape[1]}x{p.shape[2]}x{p.shape[3]} ({p[0].nbytes} raw bytes)" for name, p in
                       pixels.items())  # fmt: skip
    return "\n".join(lines) + f"\n\nImages: {shapes}; 64 seeds each; CPU ms per image, fastest of 5 passes.\n"


def main(argv: list[str] | None = None) -> int:
    from bench import model_rgb
    from bench.__main__ import REFERENCE_DIR

    parser = argparse.ArgumentParser(prog="python -m bench.codecs", description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"), help="where dcgan-mnist is")
    args = parser.parse_args(argv)
    rgb = REFERENCE_DIR / model_rgb.NAME / model_rgb.VERSION
    if not (rgb / "manifest.json").is_file():
        model_rgb.export(REFERENCE_DIR)
    print(table({"64x64 RGB": rgb, "28x28 digits": args.models_dir / "dcgan-mnist" / "1"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
