"""Issue 12 end to end: a user's own colour images, in each layout, train every family a few steps through the
CLI, export, and the exported models are served by a real `ganserve serve` with the right image spec."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service.manifest import load_manifest
from tests.support.server import running_server
from training.__main__ import main

pytestmark = pytest.mark.slow  # 8 trainings, 5 exports and a server: ~1 min on a quiet machine, minutes on a busy one

TINY = ["--steps", "2", "--batch-size", "4", "--width", "4", "--latent-dim", "8", "--log-every", "1",
        "--sample-every", "2", "--checkpoint-every", "2", "--threads", "1", "--device", "cpu"]  # fmt: skip


def _png(path: Path, size: tuple[int, int], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Colour images of mixed sizes in each layout a user brings."""
    root = tmp_path_factory.mktemp("user")
    for i in range(6):
        _png(root / "pets" / ("cats" if i < 3 else "dogs") / f"{i}.png", (48 + 4 * i, 40), i)  # mixed sizes
        _png(root / "facades" / f"{i}.jpg", (128, 64), i)  # A|B side by side
        _png(root / "h2z" / "trainA" / f"{i}.png", (32, 32), i)
        _png(root / "h2z" / "trainB" / f"{i}.png", (32, 32), i + 10)
    return root


CASES = {
    "gan": ("pets", ["--image-size", "32"]),
    "dcgan": ("pets", ["--image-size", "64", "--flip"]),
    "wgan": ("pets", ["--image-size", "32", "--n-critic", "1"]),
    "wgan-gp": ("pets", ["--image-size", "32", "--n-critic", "1"]),
    "selfcond": ("pets", ["--image-size", "32", "--clusters", "2"]),
    "cgan": ("pets", ["--image-size", "32", "--resize", "pad"]),
    "pix2pix": ("facades", ["--image-size", "32"]),
    "cyclegan": ("h2z", ["--pool-size", "2"]),
}
EXPORTED = {"dcgan", "cgan", "pix2pix", "cyclegan"}  # one per kind of graph; the others train only


def test_every_family_has_a_colour_case() -> None:
    from training.families import FAMILIES

    assert set(CASES) == set(FAMILIES)


@pytest.fixture(scope="module")
def models(user_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    runs = tmp_path_factory.mktemp("runs")
    for family, (folder, flags) in CASES.items():
        export = ["--export-dir", str(out)] if family in EXPORTED else []
        argv = ["train", "--family", family, "--data", str(user_data / folder), "--runs-dir", str(runs), *TINY]
        assert main([*argv, *flags, *export]) == 0, family
    return out


def test_exports_carry_the_image_spec_and_the_class_names(models: Path) -> None:
    shapes = {d.name: load_manifest(d / "1").image for d in models.iterdir()}
    want = {"dcgan": 64, "cgan": 32, "pix2pix": 32, "cyclegan-a2b": 32, "cyclegan-b2a": 32}
    assert {k: (v.channels, v.height) for k, v in shapes.items()} == {k: (3, s) for k, s in want.items()}
    cgan = load_manifest(models / "cgan" / "1")
    assert cgan.class_names == ["cats", "dogs"] and cgan.num_classes == 2
    assert load_manifest(models / "pix2pix" / "1").input_image == shapes["pix2pix"]


def test_the_exported_colour_models_are_served(models: Path) -> None:
    with running_server(models) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        listed = {m["name"] for m in client.get("/v1/models").json()["models"]}
        assert {"dcgan", "cgan", "pix2pix", "cyclegan-a2b"} <= listed
        r = client.post("/v1/models/cgan/generate", json={"n": 2, "seed": 1, "labels": [0, 1]},
                        headers={"Accept": "image/png"})  # fmt: skip
        assert r.status_code == 200
        with Image.open(io.BytesIO(r.content)) as im:
            assert im.mode == "RGB"
        src = io.BytesIO()
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(src, format="PNG")
        body = {"image": base64.b64encode(src.getvalue()).decode()}
        r = client.post("/v1/models/pix2pix/translate", json=body, headers={"Accept": "image/png"})
        assert r.status_code == 200
        with Image.open(io.BytesIO(r.content)) as im:
            assert im.size == (32, 32) and im.mode == "RGB"
