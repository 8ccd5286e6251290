"""What a family trains on: each layout of user data, sizes and channels, and every bad-data message (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from training.config import TrainConfig
from training.configure import build_config
from training.data.arrays import DataError
from training.data.sources import ImageData, PairData, load_train_data


def _png(path: Path, w: int, h: int, colour: bool = True, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, 3) if colour else (h, w), dtype=np.uint8)
    Image.fromarray(arr).save(path)


def _cfg(family: str, data: Path | str, **kw: Any) -> TrainConfig:
    return build_config({"family": family, "data": str(data), **kw})


def _load(family: str, data: Path | str, **kw: Any) -> ImageData | PairData:
    from training.families import get_family

    cfg = _cfg(family, data, **kw)
    return load_train_data(cfg, get_family(family).needs)


def test_a_folder_of_colour_images_is_rgb_at_its_own_size(tmp_path: Path) -> None:
    for i in range(3):
        _png(tmp_path / "faces" / f"{i}.png", 32, 32, seed=i)
    data = _load("dcgan", tmp_path / "faces")
    assert isinstance(data, ImageData) and data.images.shape == (3, 3, 32, 32) and data.labels is None
    assert float(data.images.min()) >= -1 and float(data.images.max()) <= 1


def test_grey_images_follow_the_data_unless_channels_says_otherwise(tmp_path: Path) -> None:
    for i in range(2):
        _png(tmp_path / "g" / f"{i}.png", 32, 32, colour=False, seed=i)
    assert _load("dcgan", tmp_path / "g").images.shape == (2, 1, 32, 32)
    assert _load("dcgan", tmp_path / "g", channels=3).images.shape == (2, 3, 32, 32)


@pytest.mark.parametrize(("mode", "size"), [("crop", 64), ("pad", 32), ("stretch", 128)])
def test_image_size_resizes_non_square_images(tmp_path: Path, mode: str, size: int) -> None:
    _png(tmp_path / "w" / "0.png", 90, 60)
    _png(tmp_path / "w" / "1.png", 40, 70)
    data = _load("dcgan", tmp_path / "w", image_size=size, resize=mode)
    assert data.images.shape == (2, 3, size, size)


def test_class_folders_give_labels_and_names(tmp_path: Path) -> None:
    for cls, n in (("cats", 2), ("dogs", 3)):
        for i in range(n):
            _png(tmp_path / "pets" / cls / f"{i}.png", 32, 32, seed=i)
    data = _load("cgan", tmp_path / "pets")
    assert isinstance(data, ImageData) and data.class_names == ["cats", "dogs"]
    assert data.labels is not None and data.labels.tolist() == [0, 0, 1, 1, 1]


def test_npz_with_labels_and_class_names(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 1, 0]), class_names=np.array(["a", "b"]))
    data = _load("cgan", tmp_path / "d.npz")
    assert data.images.shape == (4, 3, 32, 32) and data.class_names == ["a", "b"]
    assert _load("dcgan", tmp_path / "d.npz", image_size=64).images.shape == (4, 3, 64, 64)


def test_side_by_side_pairs_for_pix2pix_and_trainA_trainB_for_cyclegan(tmp_path: Path) -> None:
    for i in range(2):
        _png(tmp_path / "pairs" / f"{i}.jpg", 128, 64, seed=i)
        _png(tmp_path / "u" / "trainA" / f"{i}.png", 32, 32, seed=i)
        _png(tmp_path / "u" / "trainB" / f"{i}.png", 32, 32, seed=i + 5)
    pairs = _load("pix2pix", tmp_path / "pairs", image_size=32)
    assert isinstance(pairs, PairData) and pairs.paired and pairs.a.shape == pairs.b.shape == (2, 3, 32, 32)
    unpaired = _load("cyclegan", tmp_path / "u")
    assert isinstance(unpaired, PairData) and not unpaired.paired and unpaired.a.shape == (2, 3, 32, 32)


def test_pairs_given_to_cyclegan_are_split_into_disjoint_halves() -> None:
    data = _load("cyclegan", "emoji-noto2twemoji")
    assert isinstance(data, PairData) and not data.paired and abs(len(data.a) - len(data.b)) <= 1
    assert "disjoint halves" in data.notes[0]


def test_class_folders_for_an_unconditional_family_are_ignored_with_a_note(tmp_path: Path) -> None:
    for cls in ("a", "b"):
        _png(tmp_path / "c" / cls / "0.png", 32, 32)
    data = _load("dcgan", tmp_path / "c")
    assert isinstance(data, ImageData) and data.labels is None
    assert any("ignores them; use --family cgan" in note for note in data.notes)


def test_unreadable_and_non_image_files_are_skipped_with_a_count_or_refused_when_strict(tmp_path: Path) -> None:
    for i in range(2):
        _png(tmp_path / "f" / f"{i}.png", 32, 32, seed=i)
    (tmp_path / "f" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "f" / "notes.txt").write_text("hello")
    data = _load("dcgan", tmp_path / "f")
    assert len(data.images) == 2 and "skipped 2 unreadable or non-image file(s)" in data.notes[0]
    with pytest.raises(DataError, match=r"notes\.txt: not an image file .* drop --strict"):
        _load("dcgan", tmp_path / "f", strict=True)
    (tmp_path / "f" / "notes.txt").unlink()
    with pytest.raises(DataError, match=r"broken\.png: not a readable image"):
        _load("dcgan", tmp_path / "f", strict=True)


@pytest.mark.parametrize(
    ("family", "files", "kw", "message"),
    [
        ("dcgan", {}, {}, "empty, or no image files"),
        ("dcgan", {"a.png": (32, 32), "b.png": (64, 64)}, {}, "b.png: 64x64 pixels, but a.png is 32x32; pass --image"),
        ("dcgan", {"a.png": (50, 50)}, {}, "50x50 pixels; supported sizes are square 28, 32, 64, 128; pass --image"),
        ("dcgan", {"a.png": (40, 32)}, {}, "40x32 pixels; supported sizes are square"),
        ("pix2pix", {"a.png": (64, 64)}, {}, "64x64 pixels, not side-by-side pairs"),
        ("cgan", {"a.png": (32, 32)}, {}, "no class labels; family 'cgan' needs them"),
        ("pix2pix", {"trainA/a.png": (32, 32), "trainB/a.png": (32, 32)}, {}, "unpaired; pix2pix needs A|B pairs"),
        ("dcgan", {"trainA/a.png": (32, 32), "trainB/a.png": (32, 32)}, {}, "a translation set"),
        ("cyclegan", {"a.png": (32, 32)}, {}, "one set of images; family 'cyclegan' translates"),
    ],
)
def test_bad_data_is_refused_with_a_message_that_says_what_to_fix(
    tmp_path: Path, family: str, files: dict[str, tuple[int, int]], kw: dict[str, Any], message: str
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    for name, (w, h) in files.items():
        _png(root / name, w, h)
    with pytest.raises(DataError, match=message):
        _load(family, root, **kw)


def test_an_unsupported_image_size_flag_lists_the_supported_ones() -> None:
    from training.config import ConfigError

    with pytest.raises(ConfigError, match="image_size 48 is not supported; supported sizes: 28, 32, 64, 128"):
        _cfg("dcgan", "x", image_size=48)


def test_the_embedded_sets_by_name() -> None:
    digits = _load("cgan", "digits")
    assert digits.images.shape == (8000, 1, 28, 28) and digits.class_names == [str(i) for i in range(10)]
    emoji = _load("cgan", "emoji")
    assert emoji.images.shape[1:] == (3, 32, 32) and len(emoji.class_names or []) == 9
    pairs = _load("pix2pix", "emoji-noto2twemoji")
    assert isinstance(pairs, PairData) and pairs.a.shape == pairs.b.shape == emoji.images.shape
