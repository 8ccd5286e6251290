"""Sample grids as PNG (no torchvision needed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from service.manifest import write_atomic


def grid_array(images: torch.Tensor, nrow: int, pad: int = 2) -> np.ndarray:
    """images (N, C, H, W) in [-1, 1] -> uint8 (rows*(H+pad)+pad, nrow*(W+pad)+pad[, C]) on a grey background."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    n, c, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    out = np.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), 128, np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        out[:, y0 : y0 + h, x0 : x0 + w] = x[i]
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, scale: int = 2) -> None:
    """Write a grid PNG atomically, upscaled `scale`x (nearest) so 28x28 digits are easy to see."""
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_atomic(path, buf.getvalue())
