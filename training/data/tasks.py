"""Translation tasks with a known answer, derived from the digits (no real translation data set exists here).

    from training.data.tasks import TASKS, unpaired_halves
    a, b = TASKS["lowres"].make(train.images, seed=0)    # uint8 (N, 28, 28) each: source, target

- ``lowres`` (paired, pix2pix): a = the digit pixelated to 14x14 (2x2 block means, shown at 28x28) plus Gaussian
  noise (sigma 10% of full scale); b = the clean digit. Why this corruption: a 2x down-sampling keeps the digit's
  identity (a classifier still reads it) so the class is recoverable, but the fine stroke shape is gone and the
  noise hides it further: the corrupted input scores SSIM ~0.37 against the truth (pixelation alone ~0.86, a
  bilinear up-sampling ~0.83), so the model must at least denoise perfectly to reach the 0.85 target and must
  restore stroke shape to go beyond it. Occlusion was rejected because
  an occluder can erase the only stroke that tells 7 from 9, which makes "class kept" depend on luck, not the model.
- ``thicken`` (unpaired, CycleGAN): a = the clean digit; b = the digit after a 3x3 grey-level dilation (each pixel
  becomes the max of its 3x3 neighbourhood). Thickening is not a pixel-wise function (it moves ink into empty
  pixels), the thick digit scores only SSIM ~0.48 against the thin one, and the inverse is learnable (a 3x3
  erosion recovers SSIM ~0.98), so both directions have a measurable ground truth.

CycleGAN must never see a pair: ``unpaired_halves`` splits the training images into two disjoint halves, domain A
from one and domain B from the other. Evaluation still has the pairs, because ``make`` is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LOWRES_NOISE_SIGMA = 0.10  # fraction of full scale (255)


@dataclass(frozen=True)
class Task:
    name: str
    paired: bool
    description: str
    _make: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]

    def make(self, clean: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (N, H, W) clean digits -> (a, b), uint8 (N, H, W) each: a the source domain, b the target."""
        if clean.dtype != np.uint8 or clean.ndim != 3:
            raise ValueError(f"task {self.name!r} takes uint8 images (N, H, W), got {clean.dtype} {clean.shape}")
        return self._make(clean, seed)


def pixelate(clean: np.ndarray, factor: int = 2) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, H, W): block means over factor x factor tiles, repeated back to full size."""
    n, h, w = clean.shape
    if h % factor or w % factor:
        raise ValueError(f"image size {h}x{w} is not divisible by {factor}")
    blocks = clean.astype(np.float32).reshape(n, h // factor, factor, w // factor, factor).mean(axis=(2, 4))
    return blocks.repeat(factor, axis=1).repeat(factor, axis=2)


def dilate(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Grey-level dilation: each pixel becomes the max of its size x size neighbourhood (zero outside)."""
    r = size // 2
    padded = np.pad(images, ((0, 0), (r, r), (r, r)))
    h, w = images.shape[1:]
    out = np.zeros_like(images)
    for dy in range(size):
        for dx in range(size):
            np.maximum(out, padded[:, dy : dy + h, dx : dx + w], out=out)
    return out


def _lowres(clean: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    noise = np.random.default_rng(seed).normal(0.0, 255.0 * LOWRES_NOISE_SIGMA, size=clean.shape)
    corrupted = np.clip(pixelate(clean) + noise, 0, 255).round().astype(np.uint8)
    return corrupted, clean.copy()


def _thicken(clean: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed  # the restyle is a fixed transformation
    return clean.copy(), dilate(clean, 3)


TASKS: dict[str, Task] = {
    "lowres": Task("lowres", True, "pixelated 14x14 + noisy digit -> clean digit", _lowres),
    "thicken": Task("thicken", False, "thin strokes <-> thick strokes (3x3 dilation)", _thicken),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def unpaired_halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint index sets covering range(n) (sizes n//2 and n - n//2): domain A draws from the first,
    domain B from the second, so a CycleGAN never sees both sides of one pair."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])
