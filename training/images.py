"""Sample grids as PNG, the one grid tiler of the training package (numpy only, so evaluation shares it).

save_grid(images, Path("runs/0001-dcgan/samples/final.png"), nrow=8)   # images (N, C, H, W) in [-1, 1]
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from service.manifest import write_atomic


def grid_array(images: np.ndarray, nrow: int, pad: int = 2) -> np.ndarray:
    """images (N, C, H, W) in [-1, 1] -> uint8 (rows*(H+pad)+pad, nrow*(W+pad)+pad[, C]) on a grey background."""
    x = np.round((np.clip(np.asarray(images, dtype=np.float32), -1, 1) + 1) * 127.5).astype(np.uint8)
    n, c, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    out = np.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), 128, np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        out[:, y0 : y0 + h, x0 : x0 + w] = x[i]
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def grid_png(images: np.ndarray, nrow: int = 8, scale: int = 2) -> bytes:
    """A grid as PNG bytes, upscaled `scale`x (nearest) so small images are easy to see."""
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def save_grid(images: np.ndarray, path: Path, nrow: int = 8, scale: int = 2) -> None:
    """Write a grid PNG atomically."""
    write_atomic(path, grid_png(images, nrow, scale))
