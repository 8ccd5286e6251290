"""Tiny configs so a whole family trains, checkpoints and exports in seconds on one CPU thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.config import TrainConfig
from training.configure import build_config

TINY: dict[str, Any] = dict(steps=3, batch_size=8, width=4, latent_dim=8, log_every=1, sample_every=2,
                            checkpoint_every=2, threads=1, device="cpu")  # fmt: skip


@pytest.fixture
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(**overrides: Any) -> TrainConfig:
        return build_config(TINY, {"runs_dir": str(tmp_path / "runs")}, overrides)

    return make
