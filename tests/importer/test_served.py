"""Generators in each foreign convention, built with PyTorch here, imported with `ganserve import`, served by a real
server, and compared with a direct onnxruntime run on the documented noise (within one grey level)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from ganserve.cli import main
from service.noise import seeded_noise
from tests.support.foreign import FOREIGN, export
from tests.support.server import Server, running_server

GENERATORS = ["dcgan4d", "onehot", "int32", "nhwc", "fixed1", "two-outputs"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """Every FOREIGN convention exported and imported into one repository, served by one real server."""
    folder = tmp_path_factory.mktemp("foreign")
    models = folder / "models"
    for name, spec in FOREIGN.items():
        assert (
            main(["import", str(export(name, folder)), "--name", name, "--models-dir", str(models), *spec.flags]) == 0
        )
    with running_server(models, {"GANSERVE_MAX_BATCH_SIZE": "8"}) as server:
        yield server, folder


def to_pixels(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(N, C, H, W) in [lo, hi] -> (N, H, W, C) uint8, written here independently of service/codecs."""
    return (
        np.clip(np.rint((x.astype(np.float64) - lo) * 255.0 / (hi - lo)), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    )


def direct(onnx_path: Path, seeds: list[int], name: str) -> np.ndarray:
    """What the documented formula says the server must produce: seeded noise (reshaped), class (seed mod K)."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    trailing = list(inputs[0].shape[1:])
    outs = []
    for seed in seeds:  # one row at a time: works for the fixed-batch graph too
        feeds = {inputs[0].name: seeded_noise([seed], int(np.prod(trailing))).reshape(1, *trailing)}
        if len(inputs) == 2:
            classes = 10 if name == "onehot" else 4
            label = seed % classes
            feeds[inputs[1].name] = (
                np.eye(classes, dtype=np.float32)[[label]] if name == "onehot" else np.array([label], np.int32)
            )
        outs.append(session.run([session.get_outputs()[0].name], feeds)[0])
    out = np.concatenate(outs)
    if name in ("nhwc", "fixed1"):
        out = out.transpose(0, 3, 1, 2)
    lo, hi = {"onehot": (0, 1), "int32": (0, 255)}.get(name, (-1, 1))
    return to_pixels(out, lo, hi)


def decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    pixels = np.asarray(image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


@pytest.mark.parametrize("name", GENERATORS)
def test_served_images_equal_a_direct_onnxruntime_run(imported: tuple[Server, Path], name: str) -> None:
    server, folder = imported
    r = httpx.post(f"{server.url}/v1/models/{name}/generate", json={"n": 5, "seed": 40}, timeout=60)
    assert r.status_code == 200, r.text
    served = np.stack([decode(base64.b64decode(i["png"])) for i in r.json()["images"]])
    want = direct(folder / f"{name}.onnx", list(range(40, 45)), name)
    assert served.shape == want.shape
    assert np.abs(served.astype(int) - want.astype(int)).max() <= 1
    assert want.std() > 5  # the images are not flat: the comparison can fail


def test_translator_nhwc_input_matches_a_direct_run(imported: tuple[Server, Path]) -> None:
    server, folder = imported
    rng = np.random.default_rng(3)
    upload = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(upload).save(buf, format="PNG")
    r = httpx.post(
        f"{server.url}/v1/models/resnet/translate",
        files={"image": ("x.png", buf.getvalue())},
        headers={"Accept": "image/png"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    session = ort.InferenceSession(str(folder / "resnet.onnx"), providers=["CPUExecutionProvider"])
    x = (upload.astype(np.float32)[None] * (2 / 255) - 1).astype(np.float32)  # NHWC in [-1, 1] (--input-range)
    want = to_pixels(session.run(None, {"photo": x})[0], -1, 1)[0]
    got = decode(r.content)
    assert got.shape == (128, 128, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_models_endpoint_says_a_fixed_batch_runs_one_row_at_a_time(imported: tuple[Server, Path]) -> None:
    server, _ = imported
    models = {m["name"]: m for m in httpx.get(server.url + "/v1/models").json()["models"]}
    assert (models["fixed1"]["fixed_batch"], models["fixed1"]["max_batch_size"]) == (True, 1)
    assert (models["nhwc"]["fixed_batch"], models["nhwc"]["max_batch_size"]) == (False, 8)
    assert models["dcgan4d"]["image"] == {"channels": 3, "height": 64, "width": 64}
    assert models["onehot"]["num_classes"] == 10


def test_v2_infer_takes_the_graphs_own_tensors(imported: tuple[Server, Path]) -> None:
    """/v2 speaks the graph's conventions: 4-d noise in, and the output as the graph returns it."""
    server, folder = imported
    meta = httpx.get(server.url + "/v2/models/dcgan4d").json()
    assert meta["inputs"][0]["shape"] == [-1, 100, 1, 1]
    z = seeded_noise([7], 100).reshape(1, 100, 1, 1)
    body = {"inputs": [{"name": "z", "shape": [1, 100, 1, 1], "datatype": "FP32", "data": z.ravel().tolist()}]}
    r = httpx.post(server.url + "/v2/models/dcgan4d/infer", json=body, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    session = ort.InferenceSession(str(folder / "dcgan4d.onnx"), providers=["CPUExecutionProvider"])
    assert out["shape"] == [1, 3, 64, 64]
    np.testing.assert_allclose(np.array(out["data"]).reshape(1, 3, 64, 64), session.run(None, {"z": z})[0], atol=1e-5)
