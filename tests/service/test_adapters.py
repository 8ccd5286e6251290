"""service/adapters.py: canonical tensors <-> a graph's conventions, and the v2 manifest fields they read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from service.adapters import dummy_feeds, generator_feeds, image_feeds, input_size, output_nchw, output_shape
from service.manifest import Manifest
from service.noise import seeded_noise

SHA = "0" * 64


def manifest(**over: Any) -> Manifest:
    fields: dict[str, Any] = {
        "schema_version": 2,
        "name": "m",
        "version": "1",
        "kind": "unconditional",
        "opset": 17,
        "sha256": SHA,
        "inputs": {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", 100, 1, 1]}},
        "outputs": {"image": {"name": "img", "dtype": "float32", "shape": ["batch", 3, 8, 8]}},
        "image": {"channels": 3, "height": 8, "width": 8},
        "latent_dim": 100,
    }
    return Manifest.model_validate(fields | over)


def onehot_manifest() -> Manifest:
    return manifest(
        kind="conditional",
        num_classes=4,
        label_encoding="onehot",
        inputs={
            "noise": {"name": "z", "dtype": "float32", "shape": ["batch", 100, 1, 1]},
            "label": {"name": "y", "dtype": "float32", "shape": ["batch", 4]},
        },
    )


def test_noise_is_the_documented_formula_reshaped() -> None:
    noise = seeded_noise([5, 6], 100)
    feeds = generator_feeds(manifest(), noise, None)
    assert feeds["z"].shape == (2, 100, 1, 1)
    np.testing.assert_array_equal(feeds["z"].reshape(2, 100), noise)


def test_onehot_and_int32_labels() -> None:
    feeds = generator_feeds(onehot_manifest(), seeded_noise([0, 1, 2], 100), np.array([3, 0, 1]))
    np.testing.assert_array_equal(feeds["y"], np.eye(4, dtype=np.float32)[[3, 0, 1]])
    int32 = manifest(
        kind="conditional",
        num_classes=4,
        inputs={
            "noise": {"name": "z", "dtype": "float32", "shape": ["batch", 100]},
            "label": {"name": "y", "dtype": "int32", "shape": ["batch"]},
        },
    )
    assert generator_feeds(int32, seeded_noise([0], 100), np.array([2]))["y"].dtype == np.int32


def test_nhwc_output_and_input() -> None:
    m = manifest(outputs={"image": {"name": "img", "dtype": "float32", "shape": ["batch", 8, 8, 3], "layout": "NHWC"}})
    rows = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    np.testing.assert_array_equal(output_nchw(m, rows), rows.transpose(0, 3, 1, 2))
    assert output_shape(m, 2) == (2, 8, 8, 3)
    t = manifest(
        kind="translation",
        latent_dim=None,
        input_image={"channels": 3, "height": 8, "width": 8},
        inputs={"image": {"name": "x", "dtype": "float16", "shape": ["batch", 8, 8, 3], "layout": "NHWC"}},
    )
    image = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    x = image_feeds(t, image)["x"]
    assert x.shape == (1, 8, 8, 3) and x.dtype == np.float16
    assert input_size(t) == (8, 8)
    assert dummy_feeds(t, 2)["x"].shape == (2, 8, 8, 3)


def test_fixed_batch_of_one() -> None:
    m = manifest(
        inputs={"noise": {"name": "z", "dtype": "float32", "shape": [1, 100]}},
        outputs={"image": {"name": "img", "dtype": "float32", "shape": [1, 3, 8, 8]}},
    )
    assert m.fixed_batch
    with pytest.raises(ValidationError, match="every one is fixed at 1"):
        manifest(inputs={"noise": {"name": "z", "dtype": "float32", "shape": [1, 100]}})


def test_version_1_refuses_version_2_conventions() -> None:
    with pytest.raises(ValidationError, match="schema_version 2"):
        manifest(schema_version=1)
    with pytest.raises(ValidationError, match="does not match latent_dim"):
        manifest(latent_dim=64)
    with pytest.raises(ValidationError, match="one-hot label input must be float shaped"):
        manifest(
            kind="conditional",
            num_classes=5,
            label_encoding="onehot",
            inputs={
                "noise": {"name": "z", "dtype": "float32", "shape": ["batch", 100, 1, 1]},
                "label": {"name": "y", "dtype": "float32", "shape": ["batch", 4]},
            },
        )
