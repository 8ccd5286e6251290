"""The v2 route's size bound on bodies, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.metrics import Metrics
from service.registry import ServedModel, load_version
from service.routes.v2 import _BODY_LIMIT, body_limit
from service.settings import Settings


@pytest.fixture
def models(models_dir: Path) -> dict[str, ServedModel]:
    settings = Settings(models_dir=models_dir)
    metrics = Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,))
    return {name: load_version(models_dir / name / "1", settings, metrics) for name in ("gen", "cgen")}


def test_bodies_are_bounded_by_what_the_model_can_take(models: dict[str, ServedModel]) -> None:
    assert body_limit(models["gen"], 256) == 64 * 1024 + 256 * 8 * 64  # z: 8 values per row
    assert body_limit(models["cgen"], 256) == 64 * 1024 + 256 * 9 * 64  # z and a label
    assert body_limit(models["gen"], 10**9) == _BODY_LIMIT
