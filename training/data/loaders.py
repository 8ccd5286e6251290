"""Load the data users bring, by layout. Every loader returns float32 images (N, C, H, W) in [-1, 1].

    from training.data.loaders import load
    ds = load("digits.npz")                  # arrays x/y or images/labels (or pairs a/b)   -> Images / Pairs
    ds = load("train-images-idx3-ubyte.gz")  # IDX (labels read from the sibling *labels* file if present)
    ds = load("faces/")                      # faces/*.png                                   -> Images
    ds = load("letters/")                    # letters/<class>/*.png          -> Images(images, labels, class_names)
    pairs = load("facades/", layout="pairs") # facades/*.png, each A|B side by side          -> Pairs(a, b)
    pairs = load("horse2zebra/")             # horse2zebra/trainA/*, trainB/*                -> Unpaired(a, b)

A flat folder of images is one unlabelled set, unless ``prefer_pairs`` (a paired family) reads it as A|B pairs.
Folder options (channels, size, resize, strict) are in ``training.data.folders.ReadOptions``.
"""

from __future__ import annotations

from pathlib import Path

from training.data.arrays import DataError, Images, Pairs, Unpaired, load_idx, load_npz
from training.data.folders import (
    IMAGE_SUFFIXES,
    ReadOptions,
    class_dirs,
    load_class_folders,
    load_image_folder,
    load_pairs,
    load_unpaired,
)

LAYOUTS = ("idx", "npz", "images", "classes", "pairs", "unpaired")

__all__ = ["LAYOUTS", "DataError", "Images", "Pairs", "ReadOptions", "Unpaired", "detect_layout", "load"]


def detect_layout(path: Path, prefer_pairs: bool = False) -> str:
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
    if class_dirs(path):
        return "classes"
    if any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
        return "pairs" if prefer_pairs else "images"
    raise DataError(
        f"{path}: empty, or no image files ({', '.join(sorted(IMAGE_SUFFIXES))}); "
        f"give images in one of the layouts {', '.join(LAYOUTS)}"
    )


def load(
    path: Path | str, layout: str | None = None, opts: ReadOptions | None = None, prefer_pairs: bool = False
) -> Images | Pairs | Unpaired:
    """Load user data by layout (detected when None): see the module docstring for what each returns."""
    path = Path(path)
    opts = opts or ReadOptions()
    if layout and layout not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    layout = layout or detect_layout(path, prefer_pairs)
    if layout == "idx":
        return load_idx(path)
    if layout == "npz":
        return load_npz(path)
    if layout == "images":
        return load_image_folder(path, opts)
    if layout == "classes":
        return load_class_folders(path, opts)
    if layout == "pairs":
        return load_pairs(path, opts)
    return load_unpaired(path, opts)
