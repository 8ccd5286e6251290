"""Data for the translation families: the task's (a, b) images from the training split, in [-1, 1]."""

from __future__ import annotations

import torch

from training.data.mnist import load_split, to_unit_range
from training.data.tasks import get_task, unpaired_halves

TASK_SEED = 0  # the corruption noise of the training pairs; evaluation uses other seeds on held-out digits


def paired(task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) float32 (N, 1, 28, 28): a corrupted, b clean, row i of one the pair of row i of the other."""
    train, _ = load_split()
    a, b = get_task(task).make(train.images, seed=TASK_SEED)
    return torch.from_numpy(to_unit_range(a)), torch.from_numpy(to_unit_range(b))


def unpaired(task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) from DISJOINT halves of the training split: no digit appears in both domains."""
    train, _ = load_split()
    idx_a, idx_b = unpaired_halves(len(train))
    a, _ = get_task(task).make(train.images[idx_a], seed=TASK_SEED)
    _, b = get_task(task).make(train.images[idx_b], seed=TASK_SEED)
    return torch.from_numpy(to_unit_range(a)), torch.from_numpy(to_unit_range(b))
