"""Colour evaluation on the emoji feature network: figures beside their real-vs-real floors, from the ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from service.manifest import Kind
from training.data.builtin import EMOJI_FILE, emoji_arrays, emoji_split
from training.evaluation import evaluate_model_dir
from training.evaluation.colour import EMOJI_CLASSIFIER_ONNX
from training.evaluation.grid import model_tiles
from training.export import export_generator
from training.nets.conv import ConvGenerator
from training.nets.unet import UNetGenerator


def test_the_embedded_emoji_match_their_recorded_source() -> None:
    source = json.loads((EMOJI_FILE.parent / "SOURCE.json").read_text())
    arr = emoji_arrays()
    assert arr["noto"].shape == arr["twemoji"].shape == (source["emoji"], 32, 32, 3)
    counts = dict(zip(arr["class_names"].tolist(), np.bincount(arr["labels"]).tolist(), strict=True))
    assert counts == source["per_category"]
    train, held = emoji_split()
    assert len(held) == round(0.15 * source["emoji"]) and not set(train) & set(held)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Untrained colour generators exported as the service would get them, one per kind."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    cond = ConvGenerator(8, 4, channels=3, num_classes=9, size=32)
    names = [str(n) for n in emoji_arrays()["class_names"]]

    def noise_and_label(n: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
        return torch.randn(n, 8, generator=g), torch.randint(9, (n,), generator=g)

    def image(n: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.rand(n, 3, 32, 32, generator=g) * 2 - 1,)

    prov = {"config": {"data": "emoji"}}
    export_generator(cond, Kind.conditional, noise_and_label, root / "c" / "1", 8, names, prov)
    prov = {"config": {"data": "emoji-noto2twemoji"}, "direction": "a2b"}
    export_generator(UNetGenerator(3, 4, size=32), Kind.translation, image, root / "t" / "1", provenance=prov)
    return root


def test_an_untrained_conditional_model_is_scored_against_the_classifier_floor(models: Path) -> None:
    r = evaluate_model_dir(models / "c" / "1")
    report = json.loads(EMOJI_CLASSIFIER_ONNX.with_suffix(".json").read_text())
    assert r["data"] == "emoji" and r["n"] == len(emoji_split()[1])
    assert r["floor"]["conditional_accuracy"] == pytest.approx(report["held_out_accuracy"]["noto"])
    assert r["metrics"]["frechet_distance"] > 3 * r["floor"]["frechet_distance"]  # noise is far from emoji
    assert r["targets"]["conditional_accuracy"]["pass"] is False and r["passed"] is False


def test_a_translator_is_scored_on_the_held_out_pairs(models: Path) -> None:
    r = evaluate_model_dir(models / "t" / "1")
    report = json.loads(EMOJI_CLASSIFIER_ONNX.with_suffix(".json").read_text())
    assert r["floor"]["class_kept"] == pytest.approx(report["held_out_accuracy"]["twemoji"])
    assert 0 <= r["metrics"]["ssim"] < 0.9 and r["metrics"]["l1"] > 0.05
    images, per_row = model_tiles(models / "t" / "1")
    assert images.shape == (72, 3, 32, 32) and per_row == 9  # (input, output, truth) x 24 held-out emoji
