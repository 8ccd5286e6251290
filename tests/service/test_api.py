"""The REST API through httpx against a real uvicorn process on loopback, with tiny real ONNX models."""

from __future__ import annotations

import asyncio
import base64
import io
import re

import httpx
from PIL import Image

from tests.service.test_api_errors import png
from tests.support.server import Server


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_models_describe_kind_size_classes_and_versions(server: Server) -> None:
    models = {m["name"]: m for m in httpx.get(server.url + "/v1/models").json()["models"]}
    assert {n: m["kind"] for n, m in models.items()} == {
        "gen": "unconditional",
        "cgen": "conditional",
        "translate": "translation",
    }
    cgen = httpx.get(server.url + "/v1/models/cgen").json()
    assert cgen == models["cgen"]
    assert (cgen["versions"], cgen["num_classes"], cgen["class_names"][:2]) == (["1"], 10, ["c0", "c1"])
    assert cgen["image"] == {"channels": 1, "height": 8, "width": 8} and cgen["latent_dim"] == 8
    assert cgen["provider"] == "CPUExecutionProvider"
    assert models["translate"]["input_image"] == {"channels": 1, "height": 8, "width": 8}


def test_generate_returns_seeded_labelled_pngs_with_provenance(server: Server) -> None:
    r = httpx.post(
        server.url + "/v1/models/cgen/generate", json={"n": 3, "seed": 7, "labels": ["c2", 5, "c2"], "truncation": 0.5}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["version"]) == ("cgen", "1")
    assert [(i["seed"], i["label"]) for i in body["images"]] == [(7, 2), (8, 5), (9, 2)]
    image = decode(body["images"][1]["png"])
    assert (image.size, image.mode) == ((8, 8), "L")
    assert image.text == {"model": "cgen", "version": "1", "seed": "8", "label": "c5", "truncation": "0.5"}


def test_without_a_seed_the_server_draws_one_and_reports_it(server: Server) -> None:
    first = httpx.post(server.url + "/v1/models/cgen/generate", json={"n": 2}).json()["images"]
    seed = first[0]["seed"]
    assert first[1]["seed"] == seed + 1 and first[0]["label"] == seed % 10  # default class: seed mod classes
    again = httpx.post(server.url + "/v1/models/cgen/generate", json={"n": 1, "seed": seed + 1}).json()["images"]
    assert again[0] == first[1]  # any image is reproduced alone from its own seed


async def test_seeded_images_are_identical_alone_and_under_concurrent_load(server: Server) -> None:
    body = {"n": 4, "seed": 1234, "labels": 3}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        alone = (await client.post("/v1/models/cgen/generate", json=body)).json()
        crowd = await asyncio.gather(
            *[client.post("/v1/models/cgen/generate", json={"n": 1 + i % 5, "seed": i}) for i in range(40)],
            *[client.post("/v1/models/cgen/generate", json=body) for _ in range(8)],
        )
    assert all(r.status_code == 200 for r in crowd)
    assert all(r.json() == alone for r in crowd[40:])


def test_accept_png_gives_one_image_or_a_grid(server: Server) -> None:
    one = httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 3}, headers={"Accept": "image/png"})
    assert one.headers["content-type"] == "image/png" and one.headers["x-seed"] == "3"
    image = Image.open(io.BytesIO(one.content))
    assert image.size == (8, 8) and image.text["seed"] == "3" and "label" not in image.text
    as_json = httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 3}).json()
    assert base64.b64decode(as_json["images"][0]["png"]) == one.content
    grid = httpx.post(
        server.url + "/v1/models/cgen/generate", json={"n": 5, "seed": 3, "labels": 1}, headers={"Accept": "image/png"}
    )
    image = Image.open(io.BytesIO(grid.content))
    assert image.size == (3 * 10 + 2, 2 * 10 + 2)  # 3 columns x 2 rows of 8x8 with 2-pixel gaps
    assert image.text["seeds"] == "3-7" and image.text["labels"] == "1,1,1,1,1"


def test_translate_takes_multipart_or_base64_json(server: Server) -> None:
    url = server.url + "/v1/models/translate/translate"
    upload = png(20, 12, noise=True)  # resized to the model's 8x8
    multipart = httpx.post(url, files={"image": ("in.png", upload, "image/png")})
    assert multipart.status_code == 200, multipart.text
    out = decode(multipart.json()["images"][0]["png"])
    assert out.size == (8, 8) and out.text == {"model": "translate", "version": "1"}
    as_png = httpx.post(url, json={"image": base64.b64encode(upload).decode()}, headers={"Accept": "image/png"})
    assert as_png.headers["content-type"] == "image/png"
    assert as_png.content == base64.b64decode(multipart.json()["images"][0]["png"])
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(jpeg, "JPEG")
    assert httpx.post(url, files={"image": ("in.jpg", jpeg.getvalue(), "image/jpeg")}).status_code == 200


def test_v2_protocol(server: Server) -> None:
    assert httpx.get(server.url + "/v2").json()["name"] == "ganserve"
    meta = httpx.get(server.url + "/v2/models/cgen").json()
    assert meta["inputs"] == [
        {"name": "z", "datatype": "FP32", "shape": [-1, 8]},
        {"name": "label", "datatype": "INT64", "shape": [-1]},
    ]
    assert meta["outputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
    assert httpx.get(server.url + "/v2/models/cgen/ready").json()["ready"] is True
    assert httpx.get(server.url + "/v2/models/cgen/versions/1").json()["name"] == "cgen"
    r = httpx.post(
        server.url + "/v2/models/cgen/versions/1/infer",
        json={
            "id": "r1",
            "inputs": [
                {"name": "z", "shape": [2, 8], "datatype": "FP32", "data": [[0.1] * 8, [0.2] * 8]},
                {"name": "label", "shape": [2], "datatype": "INT64", "data": [0, 9]},
            ],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("cgen", "1", "r1")
    out = body["outputs"][0]
    assert (out["name"], out["datatype"], out["shape"]) == ("image", "FP32", [2, 1, 8, 8])
    assert len(out["data"]) == 128 and all(-1 <= v <= 1 for v in out["data"])


def test_health_docs_and_openapi(server: Server) -> None:
    assert httpx.get(server.url + "/v2/health/live").json() == {"live": True}
    assert httpx.get(server.url + "/v2/health/ready").json() == {"ready": True}
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {"/v1/models/{name}/generate", "/v1/models/{name}/translate", "/v2/models/{name}/infer"} <= set(paths)


def samples(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_histograms_move(server: Server) -> None:
    before = httpx.get(server.url + "/metrics").text
    for seed in range(3):
        httpx.post(server.url + "/v1/models/gen/generate", json={"n": 2, "seed": seed})
    httpx.post(server.url + "/v1/models/gen/generate", json={"n": 0})
    after = httpx.get(server.url + "/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    moved = [
        samples(after.text, name, **labels) - samples(before, name, **labels)
        for name, labels in [
            ("ganserve_request_duration_seconds_count", {"model": "gen", "endpoint": "generate", "status": "200"}),
            ("ganserve_request_duration_seconds_count", {"model": "gen", "endpoint": "generate", "status": "422"}),
            ("ganserve_queue_wait_seconds_count", {"model": "gen"}),
            ("ganserve_inference_duration_seconds_count", {"model": "gen"}),
            ("ganserve_encode_duration_seconds_count", {"model": "gen"}),
            ("ganserve_batch_size_items_sum", {"model": "gen"}),
            ("ganserve_images_total", {"model": "gen"}),
        ]
    ]
    assert moved == [3, 1, 3, 3, 3, 6, 6]
    assert re.search(r'ganserve_queue_items\{model="gen"\} 0\.0', after.text)
    assert 'ganserve_requests_rejected_total{model="gen",reason="queue_full"}' in after.text
