"""The data sets embedded in the repository, by the name ``--data`` takes; each split into train and held-out.

    from training.data.builtin import BUILTIN
    train, held_out = BUILTIN["emoji"].splits()      # Images (with labels and class names) or Pairs, numpy

- ``digits``: the 10,000 MNIST test digits (28x28 grey; 8,000 train / 2,000 held out): the default data.
- ``emoji``: Noto Color Emoji (Google) at 32x32 RGB on white, labelled by Unicode category (emoji.json).
- ``emoji-twemoji``: the same emoji drawn by Twemoji (Twitter), same labels.
- ``emoji-noto2twemoji``: pairs, Noto on the left (a), the same emoji in Twemoji on the right (b).

The emoji arrays are built by ``scripts/build_emoji.py`` (sources and licences in ``data/emoji/README.md``).
The emoji split is a fixed permutation (seed 2024), so every run and every evaluation agrees on the held-out set.
Numpy only: evaluation uses it without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from training.data.arrays import DataError, Images, Pairs
from training.data.mnist import REPO_ROOT, load_split, to_unit_range

EMOJI_FILE = REPO_ROOT / "data" / "emoji" / "emoji32.npz"
EMOJI_SPLIT_SEED = 2024
EMOJI_HELD_OUT = 0.15  # fraction of emoji held out for evaluation


@dataclass(frozen=True)
class Builtin:
    name: str
    description: str  # what the images show, for the manifest
    source: str  # where they come from, for provenance
    splits: Callable[[], tuple[Images | Pairs, Images | Pairs]]  # (train, held_out)


def _digits() -> tuple[Images, Images]:
    train, held = load_split()
    names = [str(i) for i in range(10)]
    return (Images(to_unit_range(train.images), train.labels, names),
            Images(to_unit_range(held.images), held.labels, names))  # fmt: skip


@cache
def emoji_arrays() -> dict[str, np.ndarray]:
    """The raw arrays of data/emoji/emoji32.npz: noto, twemoji uint8 (N, 32, 32, 3); labels; class_names; names."""
    if not EMOJI_FILE.is_file():
        raise DataError(f"{EMOJI_FILE}: missing; rebuild it with `python scripts/build_emoji.py`")
    with np.load(EMOJI_FILE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def emoji_split() -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices) of the emoji, sorted."""
    n = len(emoji_arrays()["labels"])
    order = np.random.default_rng(EMOJI_SPLIT_SEED).permutation(n)
    held = round(n * EMOJI_HELD_OUT)
    return np.sort(order[held:]), np.sort(order[:held])


def _unit(x: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32) / 127.5 - 1.0


def _emoji(style: str) -> Callable[[], tuple[Images, Images]]:
    def splits() -> tuple[Images, Images]:
        arr = emoji_arrays()
        names = [str(n) for n in arr["class_names"]]
        tr, ho = emoji_split()
        return (Images(_unit(arr[style][tr]), arr["labels"][tr], names),
                Images(_unit(arr[style][ho]), arr["labels"][ho], names))  # fmt: skip

    return splits


def _emoji_pairs() -> tuple[Pairs, Pairs]:
    arr = emoji_arrays()
    tr, ho = emoji_split()
    return (Pairs(_unit(arr["noto"][tr]), _unit(arr["twemoji"][tr])),
            Pairs(_unit(arr["noto"][ho]), _unit(arr["twemoji"][ho])))  # fmt: skip


_EMOJI_SRC = "embedded emoji (data/emoji/emoji32.npz, scripts/build_emoji.py), train split (seed 2024)"
BUILTIN: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("digits", "Handwritten digits (28x28, MNIST-trained).",
                "embedded MNIST test split, 8,000-image training part (split seed 2024)", _digits),
        Builtin("emoji", "Colour emoji in the Noto style (32x32 RGB).", _EMOJI_SRC, _emoji("noto")),
        Builtin("emoji-twemoji", "Colour emoji in the Twemoji style (32x32 RGB).", _EMOJI_SRC, _emoji("twemoji")),
        Builtin("emoji-noto2twemoji", "Emoji restyled from Noto to Twemoji (32x32 RGB).", _EMOJI_SRC, _emoji_pairs),
    )
}  # fmt: skip
