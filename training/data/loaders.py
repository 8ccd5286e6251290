"""Loaders for the data users bring. Every loader returns float32 images (N, C, H, W) in [-1, 1].

    from training.data.loaders import load
    ds = load("digits.npz")                  # arrays x/y or images/labels       -> Images(images, labels)
    ds = load("train-images-idx3-ubyte.gz")  # IDX (labels read from the sibling *labels* file if present)
    ds = load("letters/")                    # letters/<class>/*.png             -> Images(images, labels, class_names)
    pairs = load("facades/")                 # facades/*.png, each A|B side by side -> Pairs(a, b)
    pairs = load("horse2zebra/")             # horse2zebra/trainA/*, trainB/*      -> Unpaired(a, b)
    ds = load("x/", layout="classes")        # force a layout; one of LAYOUTS

Pixel values: uint8 is read as 0..255; floats must already lie in [0, 1] (scaled like uint8) or in [-1, 1].
Image files are read as grayscale unless ``channels=3``; all images of a set must share one size, or pass ``size``.
Every error is a DataError whose message says what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.data.mnist import read_idx

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
LAYOUTS = ("idx", "npz", "classes", "pairs", "unpaired")


class DataError(ValueError):
    """User data that cannot be loaded as given; the message says what to fix."""


@dataclass(frozen=True)
class Images:
    images: np.ndarray  # (N, C, H, W) float32 in [-1, 1]
    labels: np.ndarray | None = None  # (N,) int64
    class_names: list[str] | None = None


@dataclass(frozen=True)
class Pairs:
    a: np.ndarray  # (N, C, H, W) float32 in [-1, 1], the source of each pair
    b: np.ndarray  # (N, C, H, W), the target, row i paired with a[i]


@dataclass(frozen=True)
class Unpaired:
    a: np.ndarray  # (N_a, C, H, W) float32 in [-1, 1]
    b: np.ndarray  # (N_b, C, H, W): no row of b belongs to any row of a


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


def _labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
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
    return Images(to_signed_unit(x, str(images_path)), None if y is None else _labels(y, len(x), str(labels_path)))


def load_npz(path: Path) -> Images:
    """A .npz holding images under 'x' or 'images' and, optionally, labels under 'y' or 'labels'."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz ({e})") from e
    x_key = next((k for k in ("x", "images") if k in arrays), None)
    if x_key is None:
        raise DataError(
            f"{path}: holds {sorted(arrays)}; save the images as 'x' or 'images' (labels as 'y' or 'labels')"
        )
    x = to_nchw(arrays[x_key], str(path))
    y_key = next((k for k in ("y", "labels") if k in arrays), None)
    labels = None if y_key is None else _labels(arrays[y_key], len(x), str(path))
    return Images(to_signed_unit(x, str(path)), labels)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_images(files: list[Path], channels: int, size: tuple[int, int] | None, where: Path) -> np.ndarray:
    """Image files -> uint8 (N, C, H, W); every file must have one size unless `size` (H, W) resizes them."""
    if not files:
        raise DataError(f"{where}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    out: list[np.ndarray] = []
    for p in files:
        try:
            with Image.open(p) as f:
                im = f.convert("L" if channels == 1 else "RGB")
                if size is not None:
                    im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
        except OSError as e:
            raise DataError(f"{p}: not a readable image ({e})") from e
        if out and arr.shape != out[0].shape:
            raise DataError(
                f"{p}: size {arr.shape[1]}x{arr.shape[0]} differs from {files[0].name} "
                f"({out[0].shape[1]}x{out[0].shape[0]}); resize the images or pass size=(H, W)"
            )
        out.append(arr)
    return to_nchw(np.stack(out), str(where))


def load_class_folders(root: Path, channels: int = 1, size: tuple[int, int] | None = None) -> Images:
    """root/<class name>/<image files>; classes are the sub-folder names in sorted order, labels their index."""
    root = Path(root)
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 1:
        raise DataError(f"{root}: no class sub-folders; put the images of each class in root/<class name>/")
    xs, ys = [], []
    for i, folder in enumerate(classes):
        files = _image_files(folder)
        if not files:
            raise DataError(f"{folder}: class folder without images; remove it or add images")
        xs.append(_read_images(files, channels, size, folder))
        ys.append(np.full(len(files), i, np.int64))
    if len({x.shape[1:] for x in xs}) > 1:
        raise DataError(f"{root}: classes differ in image size; resize the images or pass size=(H, W)")
    return Images(to_signed_unit(np.concatenate(xs), str(root)), np.concatenate(ys), [c.name for c in classes])


def load_pairs(folder: Path, channels: int = 1) -> Pairs:
    """folder/*.png, each image A|B side by side (pix2pix style): the left half is a, the right half b."""
    folder = Path(folder)
    x = _read_images(_image_files(folder), channels, None, folder)  # (N, C, H, 2W)
    w = x.shape[-1]
    if w % 2:
        raise DataError(f"{folder}: images are {w} pixels wide; side-by-side pairs need an even width (A|B)")
    return Pairs(to_signed_unit(x[..., : w // 2], str(folder)), to_signed_unit(x[..., w // 2 :], str(folder)))


def load_unpaired(root: Path, channels: int = 1, size: tuple[int, int] | None = None) -> Unpaired:
    """root/trainA/* and root/trainB/* (CycleGAN style): two domains, no pairing; both must share one image size."""
    root = Path(root)
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)}/; an unpaired set needs root/trainA/ and root/trainB/")
    a = _read_images(_image_files(root / "trainA"), channels, size, root / "trainA")
    b = _read_images(_image_files(root / "trainB"), channels, size, root / "trainB")
    if a.shape[1:] != b.shape[1:]:
        raise DataError(f"{root}: trainA images are {a.shape[1:]}, trainB {b.shape[1:]}; make them one size")
    return Unpaired(to_signed_unit(a, str(root / "trainA")), to_signed_unit(b, str(root / "trainB")))


def detect_layout(path: Path) -> str:
    """Guess the layout of `path` from what is there; fails with the list of layouts when it cannot tell."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: does not exist")
    if path.is_file():
        if path.suffix == ".npz":
            return "npz"
        if "idx" in path.name or "ubyte" in path.name:
            return "idx"
        raise DataError(f"{path}: unknown file type; give a .npz, an IDX file (*-idx3-ubyte[.gz]) or a folder")
    if (path / "trainA").is_dir() or (path / "trainB").is_dir():
        return "unpaired"
    if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return "classes"
    if _image_files(path):
        return "pairs"
    raise DataError(f"{path}: cannot tell the layout; pass layout= one of {', '.join(LAYOUTS)}")


def load(path: Path | str, layout: str | None = None, channels: int = 1) -> Images | Pairs | Unpaired:
    """Load user data by layout (detected when None): see the module docstring for the shapes returned."""
    path = Path(path)
    layout = layout or detect_layout(path)
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    if layout == "idx":
        return load_idx(path)
    if layout == "npz":
        return load_npz(path)
    if layout == "classes":
        return load_class_folders(path, channels)
    if layout == "pairs":
        return load_pairs(path, channels)
    if layout == "unpaired":
        return load_unpaired(path, channels)
    raise DataError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
