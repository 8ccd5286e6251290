"""evaluate_model_dir and the `evaluate` command on tiny hand-built ONNX models with known behaviour.

The fakes are built with onnx.helper (no torch), so each has an answer we know in advance:
- a "thicken" translator that IS the task's 3x3 dilation (a MaxPool), so SSIM must be 1 and L1 0;
- an identity translator, which must miss the SSIM target;
- a conditional model that returns one real digit per label: perfect conditional accuracy, but 10 images only,
  so the Fréchet distance must blow far past 3x the floor;
- an unconditional model that always draws the same digit: total mode collapse.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from service.manifest import Manifest, load_manifest, sha256_file, write_manifest
from training import cli_evaluate
from training.data.mnist import load_split, to_unit_range
from training.evaluation import EvaluationError, evaluate_model_dir
from training.evaluation.grid import model_grid

N = 200
IMG = ["batch", 1, 28, 28]


def _save(version_dir: Path, graph: onnx.GraphProto, **manifest: object) -> Path:
    version_dir.mkdir(parents=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.checker.check_model(model)
    onnx.save(model, version_dir / "model.onnx")
    m = Manifest.model_validate(
        {
            "name": version_dir.parent.name,
            "version": version_dir.name,
            "opset": 18,
            "image": {"channels": 1, "height": 28, "width": 28},
            "outputs": {"image": {"name": "image", "dtype": "float32", "shape": IMG}},
            "sha256": sha256_file(version_dir / "model.onnx"),
            **manifest,
        }
    )
    write_manifest(version_dir, m)
    return version_dir


def _translator(root: Path, name: str, node: onnx.NodeProto, direction: str = "a2b") -> Path:
    graph = helper.make_graph(
        [node],
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, IMG)],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, IMG)],
    )
    return _save(
        root / name / "1",
        graph,
        kind="translation",
        inputs={"image": {"name": "x", "dtype": "float32", "shape": IMG}},
        input_image={"channels": 1, "height": 28, "width": 28},
        provenance={"family": "fake", "task": "thicken", "direction": direction},
    )


def _table_model(root: Path, name: str, table: np.ndarray, conditional: bool) -> Path:
    """image = table[label] (conditional) or table[0] for every z (unconditional); z is read but ignored."""
    latent = 8
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent])]
    nodes = [
        helper.make_node("ReduceSum", ["z", "axis1"], ["zsum"], keepdims=0),  # (batch,): ties the batch size to z
        helper.make_node("Mul", ["zsum", "zero"], ["zero_b"]),
        helper.make_node("Cast", ["zero_b"], ["idx0"], to=TensorProto.INT64),
    ]
    spec = {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", latent]}}
    if conditional:
        inputs.append(helper.make_tensor_value_info("y", TensorProto.INT64, ["batch"]))
        nodes.append(helper.make_node("Add", ["idx0", "y"], ["idx"]))
        spec["label"] = {"name": "y", "dtype": "int64", "shape": ["batch"]}
    else:
        nodes.append(helper.make_node("Identity", ["idx0"], ["idx"]))
    nodes.append(helper.make_node("Gather", ["table", "idx"], ["image"], axis=0))
    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, IMG)],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.float32(0), "zero"),
            numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        ],
    )
    extra = {"num_classes": 10} if conditional else {}
    return _save(
        root / name / "1",
        graph,
        kind="conditional" if conditional else "unconditional",
        inputs=spec,
        latent_dim=latent,
        provenance={"family": "fake"},
        **extra,
    )


@pytest.fixture(scope="module")
def one_per_class() -> np.ndarray:
    train, _ = load_split()
    first = [int(np.flatnonzero(train.labels == c)[0]) for c in range(10)]
    return to_unit_range(train.images[first])  # (10, 1, 28, 28), row c shows digit c


def test_exact_translator_scores_perfectly(tmp_path: Path) -> None:
    model = _translator(
        tmp_path, "dilate", helper.make_node("MaxPool", ["x"], ["image"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    )
    r = evaluate_model_dir(model, n=N)
    assert r["metrics"]["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert r["metrics"]["l1"] == pytest.approx(0.0, abs=1e-6)
    assert r["metrics"]["class_kept"] == r["floor"]["class_kept"] > 0.95
    assert r["metrics"]["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert r["passed"] and r["task"] == "thicken" and r["direction"] == "a2b"
    json.dumps(r)  # JSON-ready


def test_identity_translator_misses_ssim(tmp_path: Path) -> None:
    r = evaluate_model_dir(_translator(tmp_path, "ident", helper.make_node("Identity", ["x"], ["image"])), n=N)
    assert r["metrics"]["ssim"] < 0.75
    assert r["targets"]["ssim"]["pass"] is False and not r["passed"]


def test_conditional_lookup_is_accurate_but_far_from_real(tmp_path: Path, one_per_class: np.ndarray) -> None:
    r = evaluate_model_dir(_table_model(tmp_path, "lookup", one_per_class, conditional=True), n=N)
    assert r["metrics"]["conditional_accuracy"] == 1.0
    assert r["targets"]["conditional_accuracy"]["pass"] is True
    assert r["ratio"]["frechet_distance"] > 3 and r["targets"]["frechet_distance"]["pass"] is False
    assert r["metrics"]["class_max_share"] == pytest.approx(0.1)


def test_collapsed_generator_fails_mode_coverage(tmp_path: Path, one_per_class: np.ndarray) -> None:
    r = evaluate_model_dir(_table_model(tmp_path, "collapsed", one_per_class, conditional=False), n=N)
    assert r["metrics"]["class_max_share"] == 1.0 and r["metrics"]["classes_covered"] == 1.0
    assert r["metrics"]["recall"] < 0.05
    assert r["floor"]["class_min_share"] >= 0.05 and r["floor"]["class_max_share"] <= 0.15
    assert not r["passed"]


def test_translator_without_task_is_refused(tmp_path: Path) -> None:
    model = _translator(tmp_path, "notask", helper.make_node("Identity", ["x"], ["image"]))
    m = load_manifest(model)
    m.provenance.pop("task")
    write_manifest(model, m)
    with pytest.raises(EvaluationError, match="provenance\\['task'\\]"):
        evaluate_model_dir(model, n=N)


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli_evaluate.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_metrics_into_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _translator(
        tmp_path, "dilate", helper.make_node("MaxPool", ["x"], ["image"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    )
    sha = sha256_file(model / "model.onnx")
    log = tmp_path / "evals.jsonl"
    assert _cli(["evaluate", str(model), "--n", str(N), "--write", "--json", "--log", str(log)]) == 0
    printed = json.loads(capsys.readouterr().out)
    stored = load_manifest(model).provenance["metrics"]
    assert stored["metrics"] == printed["metrics"] and stored["passed"] is True
    assert sha256_file(model / "model.onnx") == sha == load_manifest(model).sha256
    assert json.loads(log.read_text().splitlines()[-1])["model"] == "dilate"


def test_cli_table_and_strict_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _translator(tmp_path, "ident", helper.make_node("Identity", ["x"], ["image"]))
    assert _cli(["evaluate", str(model), "--n", str(N), "--log", "-", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "SSIM vs ground truth" in out and "FAIL" in out and "targets missed: ssim" in out
    assert _cli(["evaluate", str(tmp_path / "missing" / "1"), "--log", "-"]) == 2


def test_translator_grid_shows_input_output_truth(tmp_path: Path) -> None:
    model = _translator(
        tmp_path, "dilate", helper.make_node("MaxPool", ["x"], ["image"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    )
    grid = model_grid(model)  # 8 rows of (input, output, truth) x 3, each tile 28 px + 2 px padding
    assert grid.shape == (8 * 30 + 2, 9 * 30 + 2)

    def tile(r: int, c: int) -> np.ndarray:
        return grid[2 + 30 * r : 30 * (r + 1), 2 + 30 * c : 30 * (c + 1)]

    assert np.array_equal(tile(0, 1), tile(0, 2))  # the exact translator's output is its truth
    assert not np.array_equal(tile(0, 0), tile(0, 2))
