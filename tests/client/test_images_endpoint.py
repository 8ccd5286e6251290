"""GET /v1/models/{name}/images/{seed}.png on a real server: cache validators, identical bytes, provenance."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from tests.client.conftest import API_KEY


def text_chunks(png: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(png)) as im:
        return dict(im.text)


def test_same_parameters_give_identical_bytes_and_a_strong_etag(server_url: str) -> None:
    url = f"{server_url}/v1/models/cgen/images/42.png"
    first = httpx.get(url, params={"label": "7", "truncation": "0.8"})
    again = httpx.get(url, params={"label": "c7", "truncation": "0.80"})  # a class name and another spelling
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content == again.content
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert again.headers["etag"] == tag
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert text_chunks(first.content) == {
        "model": "cgen",
        "version": "1",
        "seed": "42",
        "label": "c7",
        "truncation": "0.8",
    }


def test_image_equals_the_generated_one(server_url: str) -> None:
    generated = httpx.post(
        f"{server_url}/v1/models/cgen/generate", json={"n": 3, "seed": 40, "labels": 7, "truncation": 0.8}
    ).json()
    image = httpx.get(f"{server_url}/v1/models/cgen/images/42.png", params={"label": 7, "truncation": 0.8})
    assert image.content == base64.b64decode(generated["images"][2]["png"])


@pytest.mark.parametrize("if_none_match", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_matching_if_none_match_gets_304(server_url: str, if_none_match: str) -> None:
    url = f"{server_url}/v1/models/gen/images/5.png"
    tag = httpx.get(url).headers["etag"]
    cached = httpx.get(url, headers={"If-None-Match": if_none_match.format(tag=tag)})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == tag and cached.headers["cache-control"] == "public, max-age=3600"


def test_head_gives_the_same_validators_without_a_body(server_url: str) -> None:
    url = f"{server_url}/v1/models/gen/images/6.png"
    head, get = httpx.head(url), httpx.get(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"] and head.headers["content-length"] == str(len(get.content))


def test_other_parameters_change_the_etag_and_the_bytes(server_url: str) -> None:
    base = f"{server_url}/v1/models/cgen/images"
    answers = [
        httpx.get(f"{base}/1.png", params={"label": 0}),
        httpx.get(f"{base}/2.png", params={"label": 0}),
        httpx.get(f"{base}/1.png", params={"label": 1}),
        httpx.get(f"{base}/1.png", params={"label": 0, "truncation": 0.5}),
    ]
    assert len({a.headers["etag"] for a in answers}) == 4 and len({a.content for a in answers}) == 4
    stale = httpx.get(f"{base}/1.png", params={"label": 1}, headers={"If-None-Match": answers[0].headers["etag"]})
    assert stale.status_code == 200 and stale.content == answers[2].content


def test_pinned_version_is_immutable(server_url: str) -> None:
    pinned = httpx.get(f"{server_url}/v1/models/gen/images/5.png", params={"version": "1"})
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert pinned.content == httpx.get(f"{server_url}/v1/models/gen/images/5.png").content


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/models/gen/images/abc.png", 422, "seed must be an integer"),
        ("/v1/models/gen/images/4294967296.png", 422, "seed must be an integer in 0..4294967295"),
        ("/v1/models/gen/images/1.png?truncation=0", 422, "truncation must be in (0, 1]"),
        ("/v1/models/gen/images/1.png?label=3", 422, "unconditional"),
        ("/v1/models/cgen/images/1.png?label=c12", 422, "unknown class 'c12'"),
        ("/v1/models/translate/images/1.png", 422, "translator"),
        ("/v1/models/nope/images/1.png", 404, "unknown model"),
    ],
)
def test_bad_requests_say_what_to_fix(server_url: str, path: str, status: int, message: str) -> None:
    answer = httpx.get(server_url + path)
    assert answer.status_code == status and message in answer.json()["error"]


def test_api_key_server_protects_images_and_keeps_them_out_of_shared_caches(keyed_server_url: str) -> None:
    url = f"{keyed_server_url}/v1/models/gen/images/5.png"
    assert httpx.get(url).status_code == 401
    answer = httpx.get(url, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200 and answer.headers["cache-control"].startswith("private")
    assert httpx.get(url, headers={"If-None-Match": answer.headers["etag"]}).status_code == 401
