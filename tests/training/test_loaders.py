"""User-data loaders on tiny data sets written into tmp dirs."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.data.arrays import load_idx
from training.data.loaders import DataError, Images, Pairs, ReadOptions, Unpaired, detect_layout, load


def _digits(n: int = 6, h: int = 8, w: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255  # both ends of the range, so the mapping to [-1, 1] is checked exactly
    return x


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _save_png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_idx_with_labels_found_beside_it(tmp_path: Path) -> None:
    x, y = _digits(), np.array([3, 1, 4, 1, 5, 9], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y)
    ds = load(tmp_path / "train-images-idx3-ubyte.gz")
    assert isinstance(ds, Images) and ds.images.shape == (6, 1, 8, 8) and ds.images.dtype == np.float32
    assert ds.images[0, 0, 0, 0] == -1.0 and ds.images[0, 0, 0, 1] == 1.0
    np.testing.assert_array_equal(ds.labels, y)
    np.testing.assert_allclose(ds.images[:, 0], x / 127.5 - 1, atol=1e-6)


def test_idx_label_count_mismatch_is_explained(tmp_path: Path) -> None:
    _write_idx(tmp_path / "a-images-idx3-ubyte.gz", _digits())
    _write_idx(tmp_path / "a-labels-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))
    with pytest.raises(DataError, match="6 images but 5 labels"):
        load_idx(tmp_path / "a-images-idx3-ubyte.gz")


@pytest.mark.parametrize("keys", [("x", "y"), ("images", "labels")])
def test_npz_under_either_key_pair(tmp_path: Path, keys: tuple[str, str]) -> None:
    x = _digits()
    np.savez(tmp_path / "d.npz", **{keys[0]: x[..., None], keys[1]: np.arange(6)})  # channels-last (N, H, W, 1)
    ds = load(tmp_path / "d.npz")
    assert ds.images.shape == (6, 1, 8, 8) and list(ds.labels) == list(range(6))
    np.testing.assert_allclose(ds.images[:, 0], x / 127.5 - 1, atol=1e-6)


def test_npz_float_ranges(tmp_path: Path) -> None:
    np.savez(tmp_path / "unit.npz", x=np.linspace(0, 1, 2 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4))
    ds = load(tmp_path / "unit.npz")
    assert ds.images.min() == -1.0 and ds.images.max() == 1.0 and ds.labels is None
    np.savez(tmp_path / "bad.npz", x=np.full((2, 4, 4), 200.0))
    with pytest.raises(DataError, match="scale them to"):
        load(tmp_path / "bad.npz")
    np.savez(tmp_path / "nokey.npz", pixels=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match="save the images as 'x' or 'images'"):
        load(tmp_path / "nokey.npz")


def test_class_folders(tmp_path: Path) -> None:
    x = _digits()
    for i, name in enumerate(["cat", "cat", "dog", "dog", "dog", "eel"]):
        _save_png(tmp_path / "set" / name / f"{i}.png", x[i])
    ds = load(tmp_path / "set")
    assert ds.class_names == ["cat", "dog", "eel"] and list(ds.labels) == [0, 0, 1, 1, 1, 2]
    np.testing.assert_allclose(ds.images[:, 0], x / 127.5 - 1, atol=1e-6)
    rgb = load(tmp_path / "set", layout="classes", opts=ReadOptions(channels=3))
    assert rgb.images.shape == (6, 3, 8, 8)


def test_class_folders_of_mixed_sizes_say_how_to_fix(tmp_path: Path) -> None:
    _save_png(tmp_path / "set" / "a" / "0.png", _digits(1, 8, 8)[0])
    _save_png(tmp_path / "set" / "a" / "1.png", _digits(1, 9, 8)[0])
    with pytest.raises(DataError, match="pass --image-size N"):
        load(tmp_path / "set")


def test_side_by_side_pairs(tmp_path: Path) -> None:
    a, b = _digits(3, seed=1), _digits(3, seed=2)
    for i in range(3):
        _save_png(tmp_path / "pairs" / f"{i}.png", np.concatenate([a[i], b[i]], axis=1))
    p = load(tmp_path / "pairs", prefer_pairs=True)
    assert isinstance(p, Pairs) and p.a.shape == p.b.shape == (3, 1, 8, 8)
    np.testing.assert_allclose(p.a[:, 0], a / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(p.b[:, 0], b / 127.5 - 1, atol=1e-6)


def test_pairs_that_are_not_side_by_side_are_refused(tmp_path: Path) -> None:
    _save_png(tmp_path / "pairs" / "0.png", _digits(1, 8, 9)[0])
    with pytest.raises(DataError, match="9x8 pixels, not side-by-side pairs"):
        load(tmp_path / "pairs", layout="pairs")


def test_unpaired_domains(tmp_path: Path) -> None:
    for i, img in enumerate(_digits(3, seed=1)):
        _save_png(tmp_path / "u" / "trainA" / f"{i}.png", img)
    for i, img in enumerate(_digits(5, seed=2)):
        _save_png(tmp_path / "u" / "trainB" / f"{i}.jpg", img)
    u = load(tmp_path / "u")
    assert isinstance(u, Unpaired) and u.a.shape == (3, 1, 8, 8) and u.b.shape == (5, 1, 8, 8)
    assert u.b.min() >= -1 and u.b.max() <= 1


def test_unpaired_missing_domain_is_named(tmp_path: Path) -> None:
    _save_png(tmp_path / "u" / "trainA" / "0.png", _digits(1)[0])
    with pytest.raises(DataError, match="missing trainB/"):
        load(tmp_path / "u")


def test_layout_errors_list_the_choices(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="idx, npz, images, classes, pairs, unpaired"):
        detect_layout(tmp_path / "empty")
    with pytest.raises(DataError, match="valid layouts"):
        load(tmp_path / "empty", layout="parquet")
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "nowhere")
