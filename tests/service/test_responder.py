"""Negotiation through a real server: every format of the same request decodes to the same pixels within its loss,
provenance travels inside and in headers, and bad Accept / format / quality / size answers 406, 422 or 413."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from service.formats import read_provenance
from tests.service.test_api_errors import check, png
from tests.support.server import Server

GEN = "/v1/models/cgen/generate"
BODY = {"n": 1, "seed": 11, "labels": "c4"}
# mean absolute error (0..255) each format may add on the tiny 8x8 test pictures at quality 90
LOSS = {"image/png": 0.0, "application/x-npy": 0.0, "image/jpeg": 8.0, "image/webp": 8.0}


def pixels(data: bytes) -> np.ndarray:
    if data.startswith(b"\x93NUMPY"):
        return np.load(io.BytesIO(data), allow_pickle=False)[0]  # (H, W, C)
    image = Image.open(io.BytesIO(data))
    return np.asarray(image.convert("L"))[:, :, None]


def post(server: Server, accept: str | None = None, **fields: Any) -> httpx.Response:
    return httpx.post(server.url + GEN, json=BODY | fields, headers={"Accept": accept} if accept else {})


def test_every_format_decodes_to_the_same_pixels_within_its_loss(server: Server) -> None:
    reference = pixels(base64.b64decode(post(server).json()["images"][0]["png"]))
    for accept, loss in LOSS.items():
        r = post(server, accept)
        assert r.status_code == 200 and r.headers["content-type"] == accept, r.text
        error = np.abs(pixels(r.content).astype(np.int16) - reference).mean()
        assert error <= loss, f"{accept}: mean error {error:.2f}"
        assert (r.headers["x-model"], r.headers["x-model-version"], r.headers["x-seed"], r.headers["x-label"]) == (
            "cgen",
            "1",
            "11",
            "c4",
        )
        if accept.startswith("image/"):
            assert read_provenance(r.content) | {"truncation": "1.0"} == {
                "model": "cgen",
                "version": "1",
                "seed": "11",
                "label": "c4",
                "truncation": "1.0",
            }
    for fmt in ("jpeg", "webp"):  # the same pictures inside a JSON answer
        image = post(server, format=fmt, quality=90).json()["images"][0]
        assert np.abs(pixels(base64.b64decode(image[fmt])).astype(np.int16) - reference).mean() <= LOSS["image/jpeg"]
        assert image["seed"] == 11 and image["label"] == 4


def test_grids_and_tensors_hold_every_image(server: Server) -> None:
    one_by_one = [pixels(base64.b64decode(i["png"])) for i in post(server, n=5).json()["images"]]
    tensor = np.load(io.BytesIO(post(server, "application/x-npy", n=5).content))
    assert tensor.shape == (5, 8, 8, 1) and tensor.dtype == np.uint8
    assert all(np.array_equal(t, p) for t, p in zip(tensor, one_by_one, strict=True))
    grid = post(server, "image/webp", n=5, quality=50)
    assert Image.open(io.BytesIO(grid.content)).size == (32, 22)  # 3 columns, 2 rows of 8 + 2 px padding
    assert grid.headers["x-seeds"] == "11-15" and read_provenance(grid.content)["seeds"] == "11-15"
    steps = httpx.post(
        server.url + "/v1/models/gen/interpolate",
        json={"seeds": [1, 2], "steps": 4},
        headers={"Accept": "application/x-npy"},
    )
    assert np.load(io.BytesIO(steps.content)).shape == (4, 8, 8, 1)


def test_the_images_url_names_its_format(server: Server) -> None:
    url = server.url + "/v1/models/cgen/images/11"
    reference = pixels(httpx.get(url + ".png?label=c4").content)
    tags = set()
    for ext, media in (
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("webp", "image/webp"),
        ("npy", "application/x-npy"),
    ):
        r = httpx.get(f"{url}.{ext}?label=c4")
        assert r.status_code == 200 and r.headers["content-type"] == media
        assert np.abs(pixels(r.content).astype(np.int16) - reference).mean() <= LOSS[media]
        tags.add(r.headers["etag"])
    assert len(tags) == 4  # the bytes differ, so the validators do
    assert httpx.get(f"{url}.jpg?label=c4&quality=20").headers["etag"] not in tags
    check(httpx.get(url + ".gif"), 422, "invalid_request", ".png, .jpg")
    check(httpx.get(url + ".png?quality=20"), 422, "invalid_request", "quality applies")


def test_translate_answers_in_the_negotiated_format(server: Server) -> None:
    url = server.url + "/v1/models/translate/translate"
    files = {"image": ("x.png", png(8, 8, noise=True), "image/png")}
    as_webp = httpx.post(url, files=files, headers={"Accept": "image/webp"})
    assert as_webp.status_code == 200 and as_webp.headers["content-type"] == "image/webp"
    assert read_provenance(as_webp.content) == {"model": "translate", "version": "1"}
    as_json = httpx.post(url, files=files, data={"format": "jpeg", "quality": "80"})
    assert Image.open(io.BytesIO(base64.b64decode(as_json.json()["images"][0]["jpeg"]))).format == "JPEG"
    check(httpx.post(url, files=files, data={"quality": "200"}), 422, "invalid_request", "1..100")


@pytest.mark.parametrize(
    ("accept", "fields", "status", "kind", "mentions"),
    [
        ("text/html", {}, 406, "not_acceptable", "image/png, image/jpeg, image/webp, application/x-npy"),
        ("image/gif", {}, 406, "not_acceptable", "application/json"),
        ("png", {}, 406, "not_acceptable", "malformed Accept"),
        (None, {"format": "gif"}, 422, "invalid_request", "format"),
        (None, {"format": "npy"}, 422, "invalid_request", "Accept: application/x-npy"),
        (None, {"quality": 0}, 422, "invalid_request", "quality"),
        (None, {"quality": 80}, 422, "invalid_request", "quality applies to jpeg and webp"),
        ("image/png", {"format": "jpeg"}, 422, "invalid_request", "contradicts"),
    ],
)
def test_bad_negotiation_says_what_is_supported(
    server: Server, accept: str | None, fields: dict[str, Any], status: int, kind: str, mentions: str
) -> None:
    check(post(server, accept, **fields), status, kind, mentions)


def test_a_grid_or_tensor_over_the_byte_limit_is_413_before_any_work(start_server: Any, models_dir: Path) -> None:
    srv = start_server(models_dir, env={"GANSERVE_MAX_ANSWER_BYTES": "1024"})
    check(post(srv, "application/x-npy", n=17), 413, "payload_too_large", "GANSERVE_MAX_ANSWER_BYTES")
    check(post(srv, "image/png", n=16), 413, "payload_too_large", "png grid of 16 images")
    assert 'ganserve_images_total{model="cgen"} 0.0' in httpx.get(srv.url + "/metrics").text  # nothing ran
    assert post(srv, "application/x-npy", n=16).status_code == 200  # 16 x 64 bytes fit
    assert post(srv, n=64).status_code == 200  # JSON answers are bounded by the image count instead
