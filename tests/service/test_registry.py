"""The registry loads every good model version and skips broken ones with a clear reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from service.errors import UnknownModel
from service.metrics import Metrics
from service.registry import load_registry, version_order
from service.settings import Settings
from tests.support.models import write_generator


def load(models_dir: Path):  # type: ignore[no-untyped-def]
    settings = Settings(models_dir=models_dir, max_batch_size=4)
    return load_registry(settings, Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,)))


def test_broken_versions_are_skipped_with_a_reason_and_the_rest_served(models_dir: Path) -> None:
    write_generator(models_dir, "gen", version="2")
    write_generator(models_dir, "gen", version="10")
    (models_dir / "gen" / "10" / "model.onnx").write_bytes(b"not onnx at all")  # sha256 no longer matches
    missing = write_generator(models_dir, "nofile")
    (missing / "model.onnx").unlink()
    corrupt = write_generator(models_dir, "corrupt")
    manifest = json.loads((corrupt / "manifest.json").read_text())
    (corrupt / "model.onnx").write_bytes(b"garbage")
    manifest["sha256"] = hashlib.sha256(b"garbage").hexdigest()
    (corrupt / "manifest.json").write_text(json.dumps(manifest))
    renamed = write_generator(models_dir, "renamed")
    manifest = json.loads((renamed / "manifest.json").read_text())
    manifest["inputs"]["noise"]["name"] = "latent"
    (renamed / "manifest.json").write_text(json.dumps(manifest))
    (models_dir / "badjson" / "1").mkdir(parents=True)
    (models_dir / "badjson" / "1" / "manifest.json").write_text("{")

    registry = load(models_dir)
    assert sorted(registry.models) == ["cgen", "gen", "translate"]
    assert registry.versions("gen") == ["1", "2"]
    assert registry.get("gen").version == "2"
    reasons = {s.path.parent.name + "/" + s.path.name: s.reason for s in registry.skipped}
    assert "sha256" in reasons["gen/10"]
    assert "missing" in reasons["nofile/1"]
    assert "cannot load" in reasons["corrupt/1"]
    assert "graph inputs are ['z']" in reasons["renamed/1"]
    assert "not valid JSON" in reasons["badjson/1"]


def test_lookups_resolve_names_only_through_the_registry(models_dir: Path) -> None:
    registry = load(models_dir)
    with pytest.raises(UnknownModel, match="served models: cgen, gen, translate"):
        registry.get("../gen")
    with pytest.raises(UnknownModel, match="no version '3'"):
        registry.get("gen", "3")


def test_numeric_versions_sort_numerically() -> None:
    assert sorted(["10", "9", "beta", "2"], key=version_order) == ["beta", "2", "9", "10"]
