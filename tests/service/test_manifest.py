"""The manifest contract on its own: what a valid one holds, each inconsistency refused with the reason, atomic
writes, and the folder check on load."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.manifest import Kind, Manifest, ManifestError, Role, load_manifest, write_atomic, write_manifest
from tests.support.models import write_generator

SHA = "0" * 64


def generator(**changes: Any) -> dict[str, Any]:
    return {
        "name": "gen",
        "version": "1",
        "kind": "unconditional",
        "opset": 18,
        "sha256": SHA,
        "latent_dim": 8,
        "inputs": {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", 8]}},
        "outputs": {"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 8, 8]}},
        "image": {"channels": 1, "height": 8, "width": 8},
    } | changes


def conditional(**changes: Any) -> dict[str, Any]:
    inputs = {
        "noise": {"name": "z", "dtype": "float32", "shape": ["batch", 8]},
        "label": {"name": "label", "dtype": "int64", "shape": ["batch"]},
    }
    return generator(kind="conditional", inputs=inputs, num_classes=3) | changes


def test_roles_name_the_graph_tensors_and_class_names_default_to_indices() -> None:
    m = Manifest.model_validate(conditional())
    assert m.kind is Kind.conditional and m.inputs[Role.label].name == "label"
    assert m.class_names == ["0", "1", "2"] and m.output_range == (-1.0, 1.0)


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (generator(inputs={}), "takes inputs ['noise']"),
        (generator(latent_dim=16), "does not match latent_dim 16"),
        (generator(latent_dim=None), "needs 'latent_dim'"),
        (conditional(num_classes=None), "needs 'num_classes'"),
        (conditional(class_names=["a", "a", "b"]), "distinct names"),
        (
            generator(outputs={"image": {"name": "image", "dtype": "float32", "shape": ["batch", 3, 8, 8]}}),
            "does not match image",
        ),
        (generator(inputs={"noise": {"name": "z", "dtype": "float32", "shape": [2, 8]}}), "must be dynamic"),
        (generator(inputs={"noise": {"name": "z", "dtype": "float32", "shape": [1, 8]}}), "every one is fixed at 1"),
        (generator(output_range=(1.0, -1.0)), "low < high"),
        (generator(onnx_file="../model.onnx"), "plain file name"),
        (generator(kind="translation"), "takes inputs ['image']"),
        (generator(name="Bad Name"), "pattern"),
        (generator(extra_field=1), "extra"),
    ],
)
def test_each_inconsistency_is_refused_with_the_reason(manifest: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        Manifest.model_validate(manifest)


def test_written_manifests_load_back_equal(tmp_path: Path) -> None:
    version_dir = write_generator(tmp_path / "models", "gen", num_classes=4)
    loaded = load_manifest(version_dir)
    write_manifest(version_dir, loaded)
    assert load_manifest(version_dir) == loaded and loaded.class_names == ["c0", "c1", "c2", "c3"]


def test_load_says_what_is_wrong_with_the_file_or_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "gen" / "1"
    with pytest.raises(ManifestError, match="missing"):
        load_manifest(folder)
    write_atomic(folder / "manifest.json", b"{")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(folder)
    write_atomic(folder / "manifest.json", json.dumps(generator(latent_dim=0)).encode())
    with pytest.raises(ManifestError, match="latent_dim"):
        load_manifest(folder)
    write_atomic(folder / "manifest.json", json.dumps(generator(name="other")).encode())
    with pytest.raises(ManifestError, match="declares other/1 but lives in gen/1"):
        load_manifest(folder)


def test_atomic_writes_leave_no_temporary_file_and_are_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "manifest.json"
    write_atomic(path, b"one")
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two" and os.listdir(path.parent) == ["manifest.json"]
    assert path.stat().st_mode & 0o777 == 0o644
