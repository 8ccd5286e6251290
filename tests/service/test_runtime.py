"""onnxruntime sessions: provider choice without error spam, warm-up sizes, graph checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.adapters import dummy_feeds
from service.manifest import load_manifest
from service.runtime import (
    CPU,
    CUDA,
    Runtime,
    RuntimeLoadError,
    create_session,
    cuda_driver_present,
    warm_up_sizes,
)
from tests.support.models import tiny_generator

MODEL = tiny_generator().SerializeToString()


@pytest.mark.skipif(cuda_driver_present(), reason="checks the CPU-only fallback")
def test_auto_on_a_cpu_only_host_uses_cpu_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    session = create_session(MODEL, "auto")
    assert session.get_providers() == [CPU]
    assert "onnxruntime" not in capfd.readouterr().err  # no "failed to load CUDA" spam


@pytest.mark.skipif(cuda_driver_present(), reason="checks the CPU-only refusal")
def test_asking_for_cuda_without_it_fails_clearly() -> None:
    with pytest.raises(RuntimeLoadError, match="GANSERVE_PROVIDER=cuda"):
        create_session(MODEL, "cuda")


@pytest.mark.skipif(not cuda_driver_present(), reason="needs a GPU")
def test_auto_with_a_gpu_uses_cuda() -> None:
    assert create_session(MODEL, "auto").get_providers()[0] == CUDA


def test_cpu_is_always_cpu() -> None:
    assert create_session(MODEL, "cpu", intra_op_threads=1).get_providers() == [CPU]


def test_a_corrupt_model_is_a_load_error() -> None:
    with pytest.raises(RuntimeLoadError, match="cannot load"):
        create_session(b"not a model", "cpu")


def test_warm_up_covers_powers_of_two_up_to_the_limit() -> None:
    assert warm_up_sizes(64) == [1, 2, 4, 8, 16, 32, 64]
    assert warm_up_sizes(48) == [1, 2, 4, 8, 16, 32, 48]
    assert warm_up_sizes(1) == [1]


SHIPPED = sorted(Path(__file__).resolve().parents[2].glob("models/*/*/manifest.json"))


@pytest.mark.parametrize("manifest_path", SHIPPED, ids=[f"{p.parent.parent.name}/{p.parent.name}" for p in SHIPPED])
def test_shipped_models_give_the_same_rows_at_any_batch_size_and_position(manifest_path: Path) -> None:
    """What makes seeded requests byte-identical alone or in a full batch (CPU provider)."""
    version_dir = manifest_path.parent
    manifest = load_manifest(version_dir)
    runtime = Runtime.load(version_dir / manifest.onnx_file, manifest, provider="cpu")
    feeds = dummy_feeds(manifest, 64)
    rng = np.random.default_rng(0)
    for name, value in feeds.items():
        feeds[name] = (
            rng.integers(0, manifest.num_classes or 1, value.shape)
            if value.dtype == np.int64
            else rng.uniform(-1, 1, value.shape)
        ).astype(value.dtype)
    full = runtime.run(feeds)
    for size, start in ((1, 0), (1, 63), (7, 30), (33, 31)):
        rows = runtime.run({k: v[start : start + size] for k, v in feeds.items()})
        assert np.array_equal(rows, full[start : start + size]), (size, start)
