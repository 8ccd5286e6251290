"""Seeds and labels to batcher items and provenance, and those items through a real batcher and encoder to answers,
on real tiny models, without HTTP."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.adapters import generator_feeds
from service.codecs import encode_png, grid, to_uint8
from service.encoding import Answer
from service.errors import InvalidRequest, WrongKind
from service.formats import Codec, Format
from service.generation import provenance, require_generator, resolve_labels
from service.metrics import Metrics
from service.negotiation import Representation
from service.noise import seeded_noise
from service.registry import ServedModel, load_version
from service.settings import Settings


@pytest.fixture
async def models(models_dir: Path) -> AsyncIterator[dict[str, ServedModel]]:
    settings = Settings(models_dir=models_dir, max_batch_size=4)
    metrics = Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,))
    loaded = {name: load_version(models_dir / name / "1", settings, metrics) for name in ("gen", "cgen", "translate")}
    for model in loaded.values():
        await model.batcher.start()
    yield loaded
    for model in loaded.values():
        await model.batcher.stop()


def test_labels_by_index_or_name_one_for_all_or_one_each(models: dict[str, ServedModel]) -> None:
    m = models["cgen"].manifest
    assert resolve_labels(m, None, [3, 14]).tolist() == [3, 4]  # absent: seed mod num_classes
    assert resolve_labels(m, "c7", [1, 2]).tolist() == [7, 7]
    assert resolve_labels(m, [1, "c2"], [1, 2]).tolist() == [1, 2]
    assert resolve_labels(m, [5], [1, 2, 3]).tolist() == [5, 5, 5]
    assert resolve_labels(models["gen"].manifest, None, [1]) is None


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ([1, 2, 3], "one for all images or one per image"),
        (10, "out of range: use 0..9"),
        (-1, "out of range"),
        ("c10", "unknown class 'c10'"),
        (True, "not booleans"),
    ],
)
def test_bad_labels_say_what_to_fix(models: dict[str, ServedModel], labels: object, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        resolve_labels(models["cgen"].manifest, labels, [1, 2])  # type: ignore[arg-type]


def test_unconditional_models_take_no_labels_and_translators_generate_nothing(models: dict[str, ServedModel]) -> None:
    with pytest.raises(InvalidRequest, match="unconditional"):
        resolve_labels(models["gen"].manifest, 1, [1])
    with pytest.raises(WrongKind, match="/v1/models/translate/translate"):
        require_generator(models["translate"])
    assert require_generator(models["gen"]) is models["gen"].manifest


def test_provenance_names_the_class_and_keeps_extra_fields(models: dict[str, ServedModel]) -> None:
    assert provenance(models["cgen"], seed=4, label=2, truncation=0.5, method="slerp") == {
        "model": "cgen",
        "version": "1",
        "seed": "4",
        "label": "c2",
        "truncation": "0.5",
        "method": "slerp",
    }
    assert provenance(models["gen"]) == {"model": "gen", "version": "1"}


def test_feeds_use_the_manifest_tensor_names_and_dtypes(models: dict[str, ServedModel]) -> None:
    feeds = generator_feeds(models["cgen"].manifest, np.zeros((2, 8), np.float64), np.array([1, 2], np.int64))
    assert sorted(feeds) == ["label", "z"] and feeds["z"].dtype == np.float32


async def test_answers_through_the_batcher_equal_encoding_the_engine_output(models: dict[str, ServedModel]) -> None:
    model = models["gen"]
    noise = seeded_noise(range(5, 11), 8)
    texts = [provenance(model, seed=s) for s in range(5, 11)]
    direct = to_uint8(model.runtime.run({"z": noise}), model.manifest.output_range)

    def answer(rep: Representation) -> Answer:
        return Answer(rep, Codec(), model.manifest.output_range, 6, texts, text={"model": "gen"})

    as_json = answer(Representation(Format.png, json=True))  # 6 images: two batches of at most 4
    body = await model.batcher.run({"z": noise}, as_json.rows, 10.0, complete=as_json.body)
    pngs = [base64.b64decode(image["png"]) for image in json.loads(body)["images"]]
    assert pngs == [encode_png(direct[i], texts[i]) for i in range(6)]
    as_grid = answer(Representation(Format.png, json=False))
    picture = await model.batcher.run({"z": noise}, as_grid.rows, 10.0, complete=as_grid.body)
    assert picture == encode_png(grid(direct), {"model": "gen"})
    with Image.open(io.BytesIO(picture)) as image:
        assert image.size == (3 * 8 + 4 * 2, 2 * 8 + 3 * 2)
