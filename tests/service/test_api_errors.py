"""Every client mistake is a 4xx JSON {"error", "type"} that says what to fix: never a 500, never a traceback."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.server import Server


def png(width: int, height: int, noise: bool = False) -> bytes:
    pixels = (
        np.random.default_rng(0).integers(0, 255, (height, width), np.uint8)
        if noise
        else np.zeros((height, width), np.uint8)
    )
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def check(r: httpx.Response, status: int, kind: str, mentions: str = "") -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "type"} and body["type"] == kind, body
    assert "Traceback" not in body["error"] and mentions.lower() in body["error"].lower(), body


GEN = "/v1/models/gen/generate"
CGEN = "/v1/models/cgen/generate"


@pytest.mark.parametrize(
    ("path", "body", "status", "kind", "mentions"),
    [
        (GEN, {"n": 0}, 422, "invalid_request", "n"),
        (GEN, {"n": 257}, 422, "invalid_request", "limit of 256"),
        (GEN, {"n": "many"}, 422, "invalid_request", "n"),
        (GEN, {"seed": -1}, 422, "invalid_request", "seed"),
        (GEN, {"seed": 2**32}, 422, "invalid_request", "seed"),
        (GEN, {"seed": 2**32 - 1, "n": 2}, 422, "invalid_request", "32 bits"),
        (GEN, {"truncation": 0}, 422, "invalid_request", "truncation"),
        (GEN, {"truncation": 1.5}, 422, "invalid_request", "truncation"),
        (GEN, {"labels": 3}, 422, "invalid_request", "unconditional"),
        (GEN, {"bogus": 1}, 422, "invalid_request", "bogus"),
        (GEN, {"deadline_ms": 0}, 422, "invalid_request", "deadline_ms"),
        (CGEN, {"labels": 10}, 422, "invalid_request", "out of range"),
        (CGEN, {"labels": -1}, 422, "invalid_request", "out of range"),
        (CGEN, {"labels": "zebra"}, 422, "invalid_request", "unknown class"),
        (CGEN, {"labels": [1, 2], "n": 3}, 422, "invalid_request", "one per image"),
        (CGEN, {"labels": True}, 422, "invalid_request", "labels"),
        (CGEN, {"version": "9"}, 404, "unknown_model", "no version"),
        ("/v1/models/nope/generate", {}, 404, "unknown_model", "served models"),
        ("/v1/models/translate/generate", {}, 422, "wrong_kind", "translate"),
        ("/v1/models/gen/translate", {"image": base64.b64encode(png(8, 8)).decode()}, 422, "wrong_kind", "generate"),
        ("/v1/models/translate/translate", {"image": "%%%not base64"}, 400, "malformed_request", "base64"),
        ("/v1/models/translate/translate", {"image": base64.b64encode(b"hello").decode()}, 422, "invalid_image", "png"),
        ("/v1/models/translate/translate", {}, 422, "invalid_request", "image"),
    ],
)
def test_bad_json_requests(
    server: Server, path: str, body: dict[str, Any], status: int, kind: str, mentions: str
) -> None:
    check(httpx.post(server.url + path, json=body), status, kind, mentions)


def test_malformed_json_and_wrong_content_type(server: Server) -> None:
    check(
        httpx.post(server.url + GEN, content=b'{"n": 2', headers={"content-type": "application/json"}),
        400,
        "malformed_request",
        "not valid JSON",
    )
    check(
        httpx.post(server.url + GEN, content=b"n=2", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
        "application/json",
    )
    check(
        httpx.post(
            server.url + "/v1/models/translate/translate", content=png(8, 8), headers={"content-type": "image/png"}
        ),
        415,
        "unsupported_media_type",
        "multipart",
    )


def test_bad_uploads(server: Server) -> None:
    url = server.url + "/v1/models/translate/translate"
    check(httpx.post(url, files={"image": ("x.png", b"GIF89a not really", "image/png")}), 422, "invalid_image", "png")
    whole = png(64, 64, noise=True)
    check(
        httpx.post(url, files={"image": ("x.png", whole[: len(whole) // 2], "image/png")}),
        422,
        "invalid_image",
        "truncated",
    )
    check(httpx.post(url, files={"picture": ("x.png", whole, "image/png")}), 400, "malformed_request", "'image'")
    check(
        httpx.post(url, content=b"--zz\r\nbroken", headers={"content-type": "multipart/form-data; boundary=zz"}),
        400,
        "malformed_request",
        "multipart",
    )
    bomb = png(5000, 5000)  # 25 M pixels in ~25 kB: over the 16 M-pixel default, refused before decoding
    assert len(bomb) < 100_000
    check(httpx.post(url, files={"image": ("bomb.png", bomb, "image/png")}), 413, "payload_too_large", "pixels")
    check(
        httpx.post(url, files={"image": ("big.png", b"\0" * (11 * 1024 * 1024), "image/png")}),
        413,
        "payload_too_large",
        "limit",
    )


def test_unknown_names_routes_and_methods(server: Server) -> None:
    check(httpx.get(server.url + "/v1/models/nope"), 404, "unknown_model", "nope")
    check(httpx.get(server.url + "/v1/models/..%2f..%2fetc"), 404, "not_found")  # never a file path
    check(httpx.get(server.url + "/v2/models/nope"), 404, "unknown_model")
    check(httpx.get(server.url + "/v2/models/gen/versions/7/ready"), 404, "unknown_model", "no version")
    check(httpx.get(server.url + "/v1/nothing-here"), 404, "not_found")
    check(httpx.put(server.url + GEN, json={}), 405, "method_not_allowed")


def tensor(name: str = "z", shape: list[int] | None = None, datatype: str = "FP32", data: Any = None) -> dict[str, Any]:
    shape = shape or [1, 8]
    return {
        "name": name,
        "shape": shape,
        "datatype": datatype,
        "data": [0.5] * int(np.prod(shape)) if data is None else data,
    }


@pytest.mark.parametrize(
    ("model", "inputs", "mentions"),
    [
        ("gen", [tensor(name="noise")], "takes exactly ['z']"),
        ("gen", [tensor(), tensor(name="extra")], "takes exactly"),
        ("gen", [tensor(shape=[1, 7])], "shape [1, 7]"),
        ("gen", [tensor(shape=[8])], "shape [8]"),
        ("gen", [tensor(datatype="INT64", data=[1] * 8)], "datatype INT64"),
        ("gen", [tensor(data=[0.5] * 7)], "needs 8 values"),
        ("gen", [tensor(data=["a"] * 8)], "numbers"),
        ("gen", [tensor(data=[[0.5] * 3, [0.5] * 5])], "list of numbers"),
        ("gen", [tensor(data=[1e39] * 8)], "infinite"),
        ("gen", [tensor(shape=[257, 8])], "limit is 256"),
        ("cgen", [tensor(), tensor("label", [1], "INT64", [10])], "0..9"),
        ("cgen", [tensor(), tensor("label", [1], "INT64", [1.5])], "integers"),
        ("cgen", [tensor(shape=[2, 8]), tensor("label", [1], "INT64", [1])], "same batch size"),
        ("translate", [tensor("x", [1, 1, 4, 4])], "shape [1, 1, 4, 4]"),
    ],
)
def test_bad_v2_tensors(server: Server, model: str, inputs: list[dict[str, Any]], mentions: str) -> None:
    r = httpx.post(f"{server.url}/v2/models/{model}/infer", json={"inputs": inputs})
    check(r, 422, "invalid_request", mentions)


def test_bad_v2_bodies(server: Server) -> None:
    url = server.url + "/v2/models/gen/infer"
    nan = '{"inputs": [{"name": "z", "shape": [1, 8], "datatype": "FP32", "data": [NaN, 0, 0, 0, 0, 0, 0, 0]}]}'
    r = httpx.post(url, content=nan.encode(), headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["type"] in ("malformed_request", "invalid_request"), r.text
    check(httpx.post(url, json={"inputs": []}), 422, "invalid_request", "inputs")
    check(
        httpx.post(url, json={"inputs": [tensor()], "outputs": [{"name": "logits"}]}),
        422,
        "invalid_request",
        "unknown output",
    )
    # more values than 256 rows of 8 could ever hold: refused by size, before any parsing
    check(
        httpx.post(url, json={"inputs": [tensor(shape=[1, 8], data=[0.5] * 200_000)]}),
        413,
        "payload_too_large",
        "at most 256 rows",
    )


async def test_bad_requests_do_not_disturb_good_ones_sharing_their_batches(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        alone = (await client.post(CGEN, json={"n": 2, "seed": 11, "labels": [1, 2]})).json()["images"]

        async def good() -> list[Any]:
            r = await client.post(CGEN, json={"n": 2, "seed": 11, "labels": [1, 2]})
            assert r.status_code == 200, r.text
            return list(r.json()["images"])

        async def bad(i: int) -> int:
            body = [{"labels": 99}, {"n": 0}, {"seed": -5}][i % 3]
            return (await client.post(CGEN, json=body)).status_code

        results = await asyncio.gather(*[good() if i % 2 else bad(i) for i in range(60)])
    assert all(r == alone for r in results[1::2])
    assert set(results[0::2]) == {422}


def test_errors_are_json_documents(server: Server) -> None:
    r = httpx.post(server.url + CGEN, json={"labels": 99})
    assert json.loads(r.text)["type"] == "invalid_request"
