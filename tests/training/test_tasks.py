import numpy as np
import pytest

from training.data.mnist import load_split
from training.data.tasks import TASKS, dilate, get_task, pixelate, unpaired_halves


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_split()[1].images[:64]


def test_lowres_pairs_corrupted_with_clean(digits: np.ndarray) -> None:
    a, b = TASKS["lowres"].make(digits, seed=0)
    assert TASKS["lowres"].paired
    assert a.dtype == b.dtype == np.uint8 and a.shape == b.shape == digits.shape
    assert np.array_equal(b, digits)
    assert not np.array_equal(a, digits)
    # the corruption is the pixelated digit plus zero-mean noise (clipping aside, hence mid-grey pixels only)
    p = pixelate(digits)
    mid = (p > 60) & (p < 195)
    diff = a[mid].astype(float) - p[mid]
    assert abs(diff.mean()) < 2 and 20 < diff.std() < 30


def test_lowres_is_deterministic_per_seed(digits: np.ndarray) -> None:
    a0, _ = TASKS["lowres"].make(digits, seed=0)
    assert np.array_equal(a0, TASKS["lowres"].make(digits, seed=0)[0])
    assert not np.array_equal(a0, TASKS["lowres"].make(digits, seed=1)[0])


def test_thicken_adds_ink_around_strokes(digits: np.ndarray) -> None:
    a, b = TASKS["thicken"].make(digits, seed=0)
    assert not TASKS["thicken"].paired
    assert np.array_equal(a, digits)
    assert (b >= a).all() and (b > 0).sum() > 1.3 * (a > 0).sum()
    # not a pixel-wise function: background pixels (value 0) map to many different values
    assert len(np.unique(b[a == 0])) > 10


def test_dilate_single_pixel_becomes_square() -> None:
    img = np.zeros((1, 5, 5), np.uint8)
    img[0, 2, 2] = 200
    out = dilate(img, 3)
    assert (out[0, 1:4, 1:4] == 200).all() and out.sum() == 9 * 200


def test_unpaired_halves_are_disjoint_and_cover() -> None:
    a, b = unpaired_halves(101, seed=0)
    assert len(a) == 50 and len(b) == 51
    assert not set(a) & set(b) and set(a) | set(b) == set(range(101))


def test_unknown_task_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"lowres.*thicken"):
        get_task("nope")


def test_make_rejects_float_images(digits: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        TASKS["lowres"].make(digits.astype(np.float32))
