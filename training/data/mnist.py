"""The embedded default data set: the MNIST test split, split once into 8,000 train and 2,000 held-out images.

    from training.data.mnist import load_split
    train, held_out = load_split()          # each a Digits(images uint8 (N, 28, 28), labels int64 (N,))

The split is a fixed permutation (seed 2024) of the 10,000 images, stratified by nothing and identical on
every machine, so every training run and every evaluation in this project agrees on which images are held out.
`read_idx` also reads IDX files that users bring (gzip or plain).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
MNIST_DIR = REPO_ROOT / "data" / "mnist"
IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
SPLIT_SEED = 2024
N_TRAIN = 8000
N_HELD_OUT = 2000


@dataclass(frozen=True)
class Digits:
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of its declared shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic)")
    dtype_code, ndim = data[2], data[3]
    codes = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtypes = {k: np.dtype(v) for k, v in codes.items()}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {arr.size} elements")
    return arr.reshape(shape)


def load_mnist(directory: Path = MNIST_DIR) -> Digits:
    images = read_idx(directory / IMAGES_FILE)
    labels = read_idx(directory / LABELS_FILE).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{directory}: {len(images)} images but {len(labels)} labels")
    return Digits(images=np.ascontiguousarray(images), labels=labels)


def load_split(directory: Path = MNIST_DIR) -> tuple[Digits, Digits]:
    """(train, held_out): 8,000 and 2,000 digits, by a fixed permutation with seed 2024."""
    full = load_mnist(directory)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(full))
    tr, ho = order[:N_TRAIN], order[N_TRAIN : N_TRAIN + N_HELD_OUT]
    return (
        Digits(full.images[tr], full.labels[tr]),
        Digits(full.images[ho], full.labels[ho]),
    )


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W) in [-1, 1]."""
    x = images.astype(np.float32) / 127.5 - 1.0
    return x[:, None] if x.ndim == 3 else x
