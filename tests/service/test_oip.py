"""service/oip.py without a server: tensors in the conventions of imported models (int32 labels, 4-d noise)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from service.errors import InvalidRequest
from service.manifest import Manifest
from service.oip import Tensor, to_feeds

MODEL: Any = SimpleNamespace(
    manifest=Manifest.model_validate(
        {
            "schema_version": 2,
            "name": "m",
            "version": "1",
            "kind": "conditional",
            "opset": 17,
            "sha256": "0" * 64,
            "num_classes": 4,
            "latent_dim": 8,
            "inputs": {
                "noise": {"name": "z", "dtype": "float32", "shape": ["batch", 8, 1, 1]},
                "label": {"name": "y", "dtype": "int32", "shape": ["batch"]},
            },
            "outputs": {"image": {"name": "img", "dtype": "float32", "shape": ["batch", 1, 4, 4]}},
            "image": {"channels": 1, "height": 4, "width": 4},
        }
    )
)


def z(n: int) -> Tensor:
    return Tensor("z", "FP32", [n, 8, 1, 1], values=[0.0] * 8 * n)


def test_int32_labels_and_4d_noise_become_feeds() -> None:
    feeds = to_feeds(MODEL, [z(2), Tensor("y", "INT32", [2], values=[3, 0])], max_rows=8)
    assert feeds["z"].shape == (2, 8, 1, 1) and feeds["y"].dtype.name == "int32" and feeds["y"].tolist() == [3, 0]


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        (2**32 + 1, "out of the INT32 range"),
        (-(2**31) - 1, "out of the INT32 range"),
        (4, r"in 0\.\.3"),
        (-1, r"in 0\.\.3"),
    ],
)
def test_labels_out_of_range_are_refused_before_any_cast_could_wrap_them(label: int, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        to_feeds(MODEL, [z(1), Tensor("y", "INT32", [1], values=[label])], max_rows=8)
