"""POST /v1/models/{name}/interpolate on a real server (the path maths alone: tests/service/test_noise.py)."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image


def pixels(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))


def test_ends_are_the_seeds_own_images(server_url: str) -> None:
    answer = httpx.post(
        f"{server_url}/v1/models/cgen/interpolate",
        json={"seeds": [11, 12], "labels": ["c2", 7], "steps": 5, "truncation": 0.9},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == "cgen" and body["version"] == "1"
    assert [im["t"] for im in body["images"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [im["label"] for im in body["images"]] == [2, 2, 7, 7, 7]
    ends = httpx.post(
        f"{server_url}/v1/models/cgen/generate", json={"n": 1, "seed": 11, "labels": 2, "truncation": 0.9}
    ).json()["images"][0]
    np.testing.assert_array_equal(pixels(body["images"][0]["png"]), pixels(ends["png"]))
    end = httpx.post(
        f"{server_url}/v1/models/cgen/generate", json={"n": 1, "seed": 12, "labels": 7, "truncation": 0.9}
    ).json()["images"][0]
    np.testing.assert_array_equal(pixels(body["images"][-1]["png"]), pixels(end["png"]))
    steps = [pixels(im["png"]) for im in body["images"]]
    assert all(not np.array_equal(steps[i], steps[i + 1]) for i in range(4))


def test_png_chunks_and_methods(server_url: str) -> None:
    url = f"{server_url}/v1/models/gen/interpolate"
    slerp = httpx.post(url, json={"seeds": [1, 2], "steps": 3}).json()["images"]
    lerp = httpx.post(url, json={"seeds": [1, 2], "steps": 3, "method": "lerp"}).json()["images"]
    with Image.open(io.BytesIO(base64.b64decode(slerp[1]["png"]))) as im:
        assert im.text == {
            "model": "gen",
            "version": "1",
            "truncation": "1.0",
            "seeds": "1,2",
            "method": "slerp",
            "t": "0.5",
        }
    assert slerp[1]["label"] is None
    assert slerp[0]["png"] != lerp[0]["png"]  # the method is recorded in the chunks...
    np.testing.assert_array_equal(pixels(slerp[0]["png"]), pixels(lerp[0]["png"]))  # ...the ends are the same
    assert not np.array_equal(pixels(slerp[1]["png"]), pixels(lerp[1]["png"]))


def test_accept_png_gives_one_grid(server_url: str) -> None:
    answer = httpx.post(
        f"{server_url}/v1/models/gen/interpolate", json={"seeds": [1, 2], "steps": 4}, headers={"Accept": "image/png"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(answer.content)) as im:
        assert im.size == (2 * 8 + 3 * 2, 2 * 8 + 3 * 2)
        assert im.text["seeds"] == "1,2" and im.text["steps"] == "4"


@pytest.mark.parametrize(
    ("model", "body", "status", "message"),
    [
        ("gen", {"seeds": [1], "steps": 4}, 422, "seeds"),
        ("gen", {"seeds": [1, 2], "steps": 65}, 422, "steps"),
        ("gen", {"seeds": [1, 2], "method": "cubic"}, 422, "method"),
        ("gen", {"seeds": [1, 2], "labels": [0, 1]}, 422, "unconditional"),
        ("cgen", {"seeds": [1, 2], "labels": [0, 10]}, 422, "out of range"),
        ("cgen", {"seeds": [1, 2], "labels": [True, 3]}, 422, "labels.0"),  # a boolean is not a class, as in generate
        ("translate", {"seeds": [1, 2]}, 422, "translator"),
        ("nope", {"seeds": [1, 2]}, 404, "unknown model"),
    ],
)
def test_bad_requests_say_what_to_fix(server_url: str, model: str, body: dict, status: int, message: str) -> None:
    answer = httpx.post(f"{server_url}/v1/models/{model}/interpolate", json=body)
    assert answer.status_code == status and message in answer.json()["error"], answer.text
