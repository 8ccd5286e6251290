"""The v2 route's helpers without a server: the size bound on bodies, and the chunked JSON answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.metrics import Metrics
from service.registry import ServedModel, load_version
from service.routes.v2 import _BODY_LIMIT, _response, body_limit
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


@pytest.mark.parametrize("request_id", [None, "DATA", '"DATA"', "é"])
def test_the_chunked_answer_is_the_plain_json_answer(models: dict[str, ServedModel], request_id: str | None) -> None:
    model = models["gen"]
    rows = list(np.random.default_rng(0).standard_normal((40, 1, 8, 8)).astype(np.float32))  # 2560 values: 3 chunks
    body = json.loads(_response(model, request_id, rows))
    expected = {"model_name": "gen", "model_version": "1"} | ({} if request_id is None else {"id": request_id})
    expected["outputs"] = [
        {"name": "image", "datatype": "FP32", "shape": [40, 1, 8, 8], "data": np.stack(rows).ravel().tolist()}
    ]
    assert body == expected
    assert _response(model, request_id, rows) == json.dumps(expected).encode()
