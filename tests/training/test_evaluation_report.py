"""Result tables, the JSONL log, and the guard that keeps metrics beside the model they were measured on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.manifest import Manifest, load_manifest, sha256_file, write_manifest
from training.evaluation.report import format_table, log_result, markdown_table, store_in_manifest

RESULT = {
    "model": "m",
    "version": "1",
    "kind": "unconditional",
    "task": None,
    "direction": None,
    "sha256": "0" * 64,
    "n": 2000,
    "floor_subsets": 5,
    "floor_range": {"frechet_distance": [2.0, 3.0]},
    "seed": 0,
    "classifier_sha256": "c",
    "seconds": 1.0,
    "passed": False,
    "metrics": {"frechet_distance": 7.5, "precision": 0.8, "class_shares": [0.1] * 10},
    "floor": {"frechet_distance": 2.5, "precision": 0.88, "class_shares": [0.1] * 10},
    "ratio": {"frechet_distance": 3.0, "precision": 0.8 / 0.88},
    "targets": {
        "frechet_distance": {"op": "<=", "value": 3.0, "of_floor": True, "target": "<= 3x floor", "pass": True},
        "precision": {"op": ">=", "value": 0.9, "of_floor": False, "target": ">= 0.9", "pass": False},
    },
}


def test_text_table_has_value_floor_ratio_target_and_verdict() -> None:
    text = format_table(RESULT)
    line = next(row for row in text.splitlines() if row.startswith("Fréchet distance"))
    assert "7.5000" in line and "2.5000" in line and "3.0000" in line and line.endswith("pass")
    assert next(r for r in text.splitlines() if r.startswith("Precision")).endswith("FAIL")
    assert "targets missed: precision" in text and "class shares" in text
    assert "floor: mean over 5 subsets of 2000 training digits (Fréchet distance floor 2.0000 to 3.0000" in text


def test_markdown_table_rows() -> None:
    rows = markdown_table(RESULT).splitlines()
    assert rows[0].startswith("| figure | value | real-vs-real floor")
    assert rows[2] == "| Fréchet distance (classifier features) | 7.5000 | 2.5000 | 3.0000 | <= 3x floor | pass |"


def test_jsonl_appends_one_line_per_result(tmp_path: Path) -> None:
    log = tmp_path / "runs" / "evaluations.jsonl"
    log_result(RESULT, log)
    log_result(RESULT, log)
    lines = log.read_text().splitlines()
    assert (
        len(lines) == 2
        and json.loads(lines[1])["metrics"]["frechet_distance"] == 7.5
        and "time" in json.loads(lines[0])
    )


def _version_dir(root: Path) -> Path:
    """A manifest whose model.onnx is a few stand-in bytes: store_in_manifest only hashes the file."""
    vdir = root / "m" / "1"
    vdir.mkdir(parents=True)
    (vdir / "model.onnx").write_bytes(b"stand-in graph")
    write_manifest(
        vdir,
        Manifest.model_validate(
            {
                "name": "m",
                "version": "1",
                "kind": "unconditional",
                "opset": 18,
                "latent_dim": 4,
                "inputs": {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", 4]}},
                "outputs": {"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 28, 28]}},
                "image": {"channels": 1, "height": 28, "width": 28},
                "sha256": sha256_file(vdir / "model.onnx"),
                "provenance": {"family": "dcgan", "metrics": {}},
            }
        ),
    )
    return vdir


def test_metrics_are_stored_in_the_manifest_and_the_model_is_untouched(tmp_path: Path) -> None:
    vdir = _version_dir(tmp_path)
    sha = load_manifest(vdir).sha256
    store_in_manifest(vdir, {**RESULT, "sha256": sha})
    stored = load_manifest(vdir)
    assert stored.sha256 == sha == sha256_file(vdir / "model.onnx")
    assert stored.provenance["metrics"]["metrics"]["frechet_distance"] == 7.5
    assert stored.provenance["metrics"]["floor"]["frechet_distance"] == 2.5
    assert stored.provenance["family"] == "dcgan"


def test_metrics_of_another_model_are_refused(tmp_path: Path) -> None:
    vdir = _version_dir(tmp_path)
    with pytest.raises(ValueError, match=r"another model\.onnx"):
        store_in_manifest(vdir, RESULT)
