"""Folders of image files users bring: a flat folder, class sub-folders, side-by-side A|B pairs, trainA/trainB.

    opts = ReadOptions(channels=0, size=64, resize="crop", strict=False)
    load_image_folder(Path("faces/"), opts)         # faces/*.png                        -> Images
    load_class_folders(Path("letters/"), opts)      # letters/<class>/*.png              -> Images with class names
    load_pairs(Path("facades/"), opts)              # facades/*.jpg, each A|B side by side -> Pairs
    load_unpaired(Path("horse2zebra/"), opts)       # trainA/*, trainB/*                 -> Unpaired

Images with an alpha channel are laid on white. ``channels=0`` follows the data: RGB when any file is in
colour, else grayscale. Without ``size`` every image must already share one size; with it each is resized:
``crop`` scales the shorter side to ``size`` and crops the centre, ``pad`` scales the longer side and pads with
the corner colour, ``stretch`` ignores the aspect ratio. Files that are not images, or that do not decode, are
skipped and counted (``strict`` refuses them instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.data.arrays import DataError, Images, Pairs, Unpaired, to_signed_unit

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


@dataclass(frozen=True)
class ReadOptions:
    channels: int = 0  # 0 = follow the data, 1 = grayscale, 3 = RGB
    size: int = 0  # 0 = keep each image's size (all must match); else the side of the square output
    resize: str = "crop"  # crop | pad | stretch
    strict: bool = False  # refuse unreadable / non-image files instead of skipping them


def _fit(im: Image.Image, size: int, mode: str) -> Image.Image:
    w, h = im.size
    if mode == "stretch":
        return im.resize((size, size), Image.Resampling.LANCZOS)
    scale = size / (min(w, h) if mode == "crop" else max(w, h))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    im = im.resize((sw, sh), Image.Resampling.LANCZOS)
    if mode == "crop":
        left, top = (sw - size) // 2, (sh - size) // 2
        return im.crop((left, top, left + size, top + size))
    canvas = Image.new(im.mode, (size, size), im.getpixel((0, 0)))
    canvas.paste(im, ((size - sw) // 2, (size - sh) // 2))
    return canvas


def _open(path: Path) -> tuple[Image.Image, bool]:
    """(RGB image, whether the file was grayscale); alpha is composited on white."""
    with Image.open(path) as f:
        f.load()
        grey = f.mode in GREY_MODES
        im = f.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, im).convert("RGB"), grey


def image_files(folder: Path, opts: ReadOptions, skipped: list[str]) -> list[Path]:
    """The image files directly in `folder`, sorted; other files are skipped (or refused when strict)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others and opts.strict:
        raise DataError(f"{others[0]}: not an image file ({len(others)} in {folder}); remove them or drop --strict")
    skipped.extend(str(p) for p in others)
    return [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]


def read_images(files: list[Path], opts: ReadOptions, where: Path, skipped: list[str]) -> np.ndarray:
    """Image files -> uint8 (N, C, H, W), every image one size (see the module docstring)."""
    arrays: list[np.ndarray] = []
    first: Path | None = None
    all_grey = True
    for p in files:
        try:
            im, grey = _open(p)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            if opts.strict:
                raise DataError(f"{p}: not a readable image ({e}); remove it or drop --strict") from e
            skipped.append(str(p))
            continue
        if opts.size:
            im = _fit(im, opts.size, opts.resize)
        arr = np.asarray(im, dtype=np.uint8)  # (H, W, 3)
        if arrays and arr.shape != arrays[0].shape:
            raise DataError(
                f"{p}: {arr.shape[1]}x{arr.shape[0]} pixels, but {first.name if first else '?'} is "
                f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; pass --image-size N to resize every image"
            )
        first = first or p
        all_grey &= grey
        arrays.append(arr)
    if not arrays:
        raise DataError(f"{where}: no readable image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    x = np.stack(arrays).transpose(0, 3, 1, 2)  # (N, 3, H, W)
    if opts.channels == 1 or (opts.channels == 0 and all_grey):
        r, g, b = (x[:, i].astype(np.uint32) for i in range(3))
        luma = (r * 299 + g * 587 + b * 114 + 500) // 1000  # ITU-R 601-2, as PIL's convert("L")
        return luma.astype(np.uint8)[:, None]
    return np.ascontiguousarray(x)


def load_image_folder(folder: Path, opts: ReadOptions) -> Images:
    """folder/<image files>: one unlabelled set."""
    skipped: list[str] = []
    x = read_images(image_files(folder, opts, skipped), opts, folder, skipped)
    return Images(to_signed_unit(x, str(folder)), skipped=tuple(skipped))


def class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_class_folders(root: Path, opts: ReadOptions) -> Images:
    """root/<class name>/<image files>; classes are the sub-folder names in sorted order, labels their index."""
    classes = class_dirs(root)
    if not classes:
        raise DataError(f"{root}: no class sub-folders; put the images of each class in {root}/<class name>/")
    skipped: list[str] = []
    xs, ys = [], []
    for i, folder in enumerate(classes):
        files = image_files(folder, opts, skipped)
        if not files:
            raise DataError(f"{folder}: class folder without images; remove it or add images")
        xs.append(read_images(files, opts, folder, skipped))
        ys.append(np.full(len(xs[-1]), i, np.int64))
    if len({x.shape[1:] for x in xs}) > 1:
        shapes = ", ".join(f"{c.name}: {x.shape[3]}x{x.shape[2]}" for c, x in zip(classes, xs, strict=True))
        raise DataError(f"{root}: classes differ in image size or channels ({shapes}); pass --image-size N")
    names = [c.name for c in classes]
    return Images(to_signed_unit(np.concatenate(xs), str(root)), np.concatenate(ys), names, tuple(skipped))


def load_pairs(folder: Path, opts: ReadOptions) -> Pairs:
    """folder/<image files>, each A|B side by side (pix2pix style): the left half is a, the right half b."""
    skipped: list[str] = []
    raw = ReadOptions(opts.channels, 0, opts.resize, opts.strict)  # split first, then resize each half
    x = read_images(image_files(folder, raw, skipped), raw, folder, skipped)  # (N, C, H, 2W)
    h, w = x.shape[-2:]
    if w != 2 * h:
        raise DataError(
            f"{folder}: images are {w}x{h} pixels, not side-by-side pairs; a pairs folder holds A|B images twice as "
            "wide as tall (source on the left, target on the right)"
        )
    a, b = x[..., : w // 2], x[..., w // 2 :]
    if opts.size and opts.size != h:
        a, b = _resize_all(a, opts.size), _resize_all(b, opts.size)
    return Pairs(to_signed_unit(a, str(folder)), to_signed_unit(b, str(folder)), tuple(skipped))


def _resize_all(x: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, C, S, S) -> (N, C, size, size), each image resized on its own."""
    out = []
    for im in x:
        hwc = im.transpose(1, 2, 0)
        pil = Image.fromarray(hwc[..., 0] if hwc.shape[-1] == 1 else hwc)
        out.append(np.asarray(pil.resize((size, size), Image.Resampling.LANCZOS)).reshape(size, size, -1))
    return np.stack(out).transpose(0, 3, 1, 2)


def load_unpaired(root: Path, opts: ReadOptions) -> Unpaired:
    """root/trainA/* and root/trainB/* (CycleGAN style): two domains, no pairing; both must share one image size."""
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)}/; an unpaired set needs {root}/trainA/ and trainB/")
    skipped: list[str] = []
    a = read_images(image_files(root / "trainA", opts, skipped), opts, root / "trainA", skipped)
    b = read_images(image_files(root / "trainB", opts, skipped), opts, root / "trainB", skipped)
    if a.shape[1:] != b.shape[1:]:
        raise DataError(f"{root}: trainA images are {a.shape[1:]}, trainB {b.shape[1:]}; pass --image-size N")
    return Unpaired(to_signed_unit(a, str(root / "trainA")), to_signed_unit(b, str(root / "trainB")), tuple(skipped))
