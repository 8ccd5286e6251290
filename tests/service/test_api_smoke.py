"""The vertical slice through a real server: list, generate (JSON and PNG), v2 infer, health, metrics."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from tests.support.server import Server


def test_models_are_listed(server: Server) -> None:
    models = httpx.get(server.url + "/v1/models").json()["models"]
    assert {m["name"]: m["kind"] for m in models} == {"gen": "unconditional", "cgen": "conditional",
                                                     "translate": "translation"}


def test_generate_json_returns_seeded_pngs(server: Server) -> None:
    r = httpx.post(server.url + "/v1/models/cgen/generate", json={"n": 3, "seed": 7, "labels": "c2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["version"]) == ("cgen", "1")
    assert [(i["seed"], i["label"]) for i in body["images"]] == [(7, 2), (8, 2), (9, 2)]
    image = Image.open(io.BytesIO(base64.b64decode(body["images"][1]["png"])))
    assert image.size == (8, 8)
    assert image.text == {"model": "cgen", "version": "1", "seed": "8", "label": "c2", "truncation": "1.0"}


def test_generate_png_and_v2_infer(server: Server) -> None:
    r = httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 1}, headers={"Accept": "image/png"})
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    r = httpx.post(server.url + "/v2/models/gen/infer",
                   json={"inputs": [{"name": "z", "shape": [2, 8], "datatype": "FP32", "data": [0.0] * 16}]})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["shape"] == [2, 1, 8, 8] and len(out["data"]) == 128


def test_health_and_metrics(server: Server) -> None:
    assert httpx.get(server.url + "/v2/health/live").json() == {"live": True}
    assert httpx.get(server.url + "/v2/health/ready").json() == {"ready": True}
    text = httpx.get(server.url + "/metrics").text
    assert 'ganserve_model_info{kind="unconditional",model="gen",provider="CPUExecutionProvider",version="1"} 1.0' in text
