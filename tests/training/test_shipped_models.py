"""The models shipped in models/ are what training promises: every kind present, small, with provenance,
and accepted by the service's own registry (manifest, sha256, graph-vs-manifest, warm-up)."""

from pathlib import Path

import pytest

from service.manifest import load_manifest
from service.metrics import Metrics
from service.registry import load_registry
from service.settings import Settings

MODELS = Path(__file__).resolve().parents[2] / "models"
SHIPPED = {
    "dcgan-mnist": "unconditional",
    "cgan-mnist": "conditional",
    "pix2pix-lowres": "translation",
    "cyclegan-thicken-a2b": "translation",
    "cyclegan-thicken-b2a": "translation",
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_has_kind_size_and_provenance(name: str) -> None:
    version_dir = MODELS / name / "1"
    manifest = load_manifest(version_dir)
    assert manifest.kind.value == SHIPPED[name]
    assert (version_dir / "model.onnx").stat().st_size < 10 * 1024 * 1024
    prov = manifest.provenance
    assert {"family", "config", "train_seconds", "metrics"} <= set(prov)
    assert prov["train_seconds"] < 30 * 60
    if manifest.kind.value == "translation":
        assert (
            prov["direction"] == name.rsplit("-", 1)[-1] if name.startswith("cyclegan") else prov["direction"] == "a2b"
        )
        assert prov["task"] in name


def test_service_registry_accepts_every_shipped_model() -> None:
    settings = Settings(models_dir=MODELS, max_batch_size=4, intra_op_threads=1, inter_op_threads=1, provider="cpu")
    registry = load_registry(settings, Metrics(latency_buckets=(0.1, 1.0), batch_buckets=(1, 4)))
    shipped_dirs = {MODELS / name / "1" for name in SHIPPED}
    assert not [s for s in registry.skipped if s.path in shipped_dirs]
    assert set(SHIPPED) <= set(registry.models)
