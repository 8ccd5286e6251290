"""Arrays users bring (IDX, .npz) and the shapes every loader returns: float32 images (N, C, H, W) in [-1, 1].

    load_npz(Path("digits.npz"))   # 'x' or 'images' (+ 'y' or 'labels', + 'class_names') -> Images
                                   # 'a' and 'b' (rows paired one to one)                  -> Pairs
    load_idx(Path("train-images-idx3-ubyte.gz"))   # labels read from the sibling *labels* file if present

Pixel values: uint8 is read as 0..255; floats must already lie in [0, 1] (scaled like uint8) or in [-1, 1].
Every error is a DataError whose message says what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.mnist import read_idx


class DataError(ValueError):
    """User data that cannot be loaded as given; the message says what to fix."""


@dataclass(frozen=True)
class Images:
    images: np.ndarray  # (N, C, H, W) float32 in [-1, 1]
    labels: np.ndarray | None = None  # (N,) int64
    class_names: list[str] | None = None
    skipped: tuple[str, ...] = ()  # files left out (unreadable or not images)


@dataclass(frozen=True)
class Pairs:
    a: np.ndarray  # (N, C, H, W) float32 in [-1, 1], the source of each pair
    b: np.ndarray  # (N, C, H, W), the target, row i paired with a[i]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unpaired:
    a: np.ndarray  # (N_a, C, H, W) float32 in [-1, 1]
    b: np.ndarray  # (N_b, C, H, W): no row of b belongs to any row of a
    skipped: tuple[str, ...] = ()


def to_signed_unit(x: np.ndarray, source: str) -> np.ndarray:
    """uint8 0..255, or floats in [0, 1] or [-1, 1] -> float32 in [-1, 1]."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{source}: pixels are {x.dtype}; give uint8 (0..255) or floats in [0, 1] or [-1, 1]")
    if not np.isfinite(x).all():
        raise DataError(f"{source}: pixels contain NaN or infinity")
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0 and hi <= 1:
        return (x * 2 - 1).astype(np.float32)
    if lo >= -1 and hi <= 1:
        return x.astype(np.float32)
    raise DataError(f"{source}: float pixels span [{lo:g}, {hi:g}]; scale them to [0, 1] or [-1, 1], or store uint8")


def to_nchw(x: np.ndarray, source: str) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3} -> (N, C, H, W)."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    raise DataError(
        f"{source}: images have shape {x.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W), C 1 or 3"
    )


def as_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if len(y) != n:
        raise DataError(f"{source}: {n} images but {len(y)} labels; they must match one to one")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{source}: labels must be non-negative integers (class indices), got {y.dtype}")
    return y.astype(np.int64)


def load_idx(images_path: Path, labels_path: Path | None = None) -> Images:
    """An IDX image file (optionally .gz) and, if given or found beside it, the matching labels file."""
    images_path = Path(images_path)
    if labels_path is None:
        guess = images_path.with_name(images_path.name.replace("images", "labels").replace("idx3", "idx1"))
        labels_path = guess if guess != images_path and guess.is_file() else None
    try:
        raw = read_idx(images_path)
        y = read_idx(Path(labels_path)) if labels_path else None
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read IDX data: {e}") from e
    x = to_nchw(raw, str(images_path))
    return Images(to_signed_unit(x, str(images_path)), None if y is None else as_labels(y, len(x), str(labels_path)))


def load_npz(path: Path) -> Images | Pairs:
    """A .npz holding images under 'x' or 'images' (optional labels 'y' / 'labels' and 'class_names'),
    or a paired set under 'a' and 'b'."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz ({e})") from e
    if "a" in arrays and "b" in arrays:
        a, b = to_nchw(arrays["a"], f"{path}:a"), to_nchw(arrays["b"], f"{path}:b")
        if a.shape != b.shape:
            raise DataError(f"{path}: 'a' is {a.shape} but 'b' is {b.shape}; pairs must match row for row")
        return Pairs(to_signed_unit(a, str(path)), to_signed_unit(b, str(path)))
    x_key = next((k for k in ("x", "images") if k in arrays), None)
    if x_key is None:
        raise DataError(
            f"{path}: holds {sorted(arrays)}; save the images as 'x' or 'images' (labels as 'y' or 'labels'), "
            "or pairs as 'a' and 'b'"
        )
    x = to_nchw(arrays[x_key], str(path))
    y_key = next((k for k in ("y", "labels") if k in arrays), None)
    labels = None if y_key is None else as_labels(arrays[y_key], len(x), str(path))
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays and labels is not None else None
    if names is not None and labels is not None and len(labels) and labels.max() >= len(names):
        raise DataError(f"{path}: labels go up to {labels.max()} but only {len(names)} class_names are given")
    return Images(to_signed_unit(x, str(path)), labels, names)
