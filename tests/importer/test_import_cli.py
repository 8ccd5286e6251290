"""`ganserve import` on bad input: a clear message naming what to add, exit code 2, nothing written."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from ganserve.cli import main
from tests.support.foreign import FOREIGN, export


def tree(root: Path) -> list[str]:
    """Every path under root, hidden ones included (a half-written import would show here)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def refused(capsys: pytest.CaptureFixture[str], models: Path, *argv: str) -> str:
    before = tree(models)
    assert main(["import", *argv, "--models-dir", str(models)]) == 2
    assert tree(models) == before
    err = capsys.readouterr().err
    assert "nothing was written" in err
    return err


def export_module(
    net: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    names: list[str],
    outputs: list[str],
    dynamic: dict[str, dict[int, str]] | None,
) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net.eval(),
            args,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=17,
        )
    return path


class Fixed4(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z).view(-1, 1, 4, 4)


class HardCodedBatch(nn.Module):
    """Declares a dynamic batch but reshapes to batch 1: fine at batch 1, broken at any other."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z).reshape(1, 1, 4, 4)


class TwoImages(nn.Module):
    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tanh(z).view(-1, 1, 4, 4), torch.sigmoid(z).view(-1, 1, 4, 4)


class AnySize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)


def test_not_an_onnx_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "g.onnx"
    bogus.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 10)
    assert "is not a valid ONNX model" in refused(capsys, tmp_path / "models", str(bogus), "--name", "g")
    assert not (tmp_path / "models").exists()


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "cannot read" in refused(capsys, tmp_path / "models", str(tmp_path / "nope.onnx"), "--name", "g")


def test_shapes_that_cannot_be_resolved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export_module(
        AnySize(),
        (torch.randn(1, 3, 16, 16),),
        tmp_path / "t.onnx",
        ["x"],
        ["y"],
        {"x": {0: "b", 2: "h", 3: "w"}, "y": {0: "b", 2: "h", 3: "w"}},
    )
    err = refused(capsys, tmp_path / "models", str(path), "--name", "t", "--input-range", "-1", "1")
    assert "cannot be resolved" in err and "fixed input size" in err


def test_ambiguous_inputs_name_the_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, tmp_path / "models", str(export("onehot", tmp_path)), "--name", "c")
    assert "--noise NAME and --label NAME" in err


@pytest.mark.parametrize(("name", "flag"), [("int32", "--output-range"), ("resnet", "--input-range")])
def test_unknowable_values_name_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, flag: str
) -> None:
    flags = list(FOREIGN[name].flags)
    cut = flags.index(flag)
    del flags[cut : cut + 3]
    assert f"add {flag} LO HI" in refused(
        capsys, tmp_path / "models", str(export(name, tmp_path)), "--name", "m", *flags
    )


def test_class_count_is_needed_for_index_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export("int32", tmp_path)
    assert "--class-names" in refused(
        capsys, tmp_path / "models", str(path), "--name", "m", "--output-range", "0", "255"
    )
    err = refused(
        capsys,
        tmp_path / "models",
        str(export("onehot", tmp_path)),
        "--name",
        "m",
        "--noise",
        "z",
        "--label",
        "onehot",
        "--class-names",
        "a",
        "b",
    )
    assert "--class-names gives 2 classes; the label input takes 10" in err


def test_several_image_outputs_need_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export_module(
        TwoImages(),
        (torch.randn(2, 16),),
        tmp_path / "two.onnx",
        ["z"],
        ["a", "b"],
        {"z": {0: "n"}, "a": {0: "n"}, "b": {0: "n"}},
    )
    assert "choose the image with --output NAME" in refused(capsys, tmp_path / "models", str(path), "--name", "two")
    assert main(["import", str(path), "--name", "two", "--models-dir", str(tmp_path / "models"), "--output", "b"]) == 0
    manifest = json.loads((tmp_path / "models/two/1/manifest.json").read_text())
    assert (manifest["outputs"]["image"]["name"], manifest["output_range"]) == ("b", [0.0, 1.0])


def test_a_fixed_batch_other_than_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export_module(Fixed4(), (torch.randn(4, 16),), tmp_path / "f.onnx", ["z"], ["y"], None)
    assert "fixed batch of 4" in refused(capsys, tmp_path / "models", str(path), "--name", "f")


def test_a_dummy_run_that_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export_module(
        HardCodedBatch(), (torch.randn(1, 16),), tmp_path / "h.onnx", ["z"], ["y"], {"z": {0: "n"}, "y": {0: "n"}}
    )
    assert "the dummy run failed" in refused(capsys, tmp_path / "models", str(path), "--name", "h")


def test_existing_version_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    first = export("nhwc", tmp_path)
    assert main(["import", str(first), "--name", "g", "--models-dir", str(models)]) == 0
    old = (models / "g/1/manifest.json").read_text()
    (tmp_path / "retrained").mkdir()
    second = export("nhwc", tmp_path / "retrained", seed=1)
    assert "add --force" in refused(capsys, models, str(second), "--name", "g")
    assert (models / "g/1/manifest.json").read_text() == old
    assert main(["import", str(second), "--name", "g", "--models-dir", str(models), "--force"]) == 0
    assert json.loads((models / "g/1/manifest.json").read_text())["sha256"] != json.loads(old)["sha256"]
    assert tree(models) == ["g", "g/1", "g/1/manifest.json", "g/1/model.onnx"]


def test_bad_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--name 'My Model'" in refused(capsys, tmp_path / "models", str(tmp_path / "x.onnx"), "--name", "My Model")


def test_prints_what_it_inferred(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    assert main(["import", str(export("dcgan4d", tmp_path)), "--name", "d", "--models-dir", str(models)]) == 0
    out = capsys.readouterr().out
    assert "output range: [-1.0, 1.0] (from the final Tanh)" in out
    assert "latent_dim 100" in out and "dummy run: batch 1 and 3 ok" in out
    manifest = json.loads((models / "d/1/manifest.json").read_text())
    assert manifest["schema_version"] == 2 and manifest["inputs"]["noise"]["shape"] == ["batch", 100, 1, 1]
