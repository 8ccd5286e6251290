"""The client against a real server on loopback (uvicorn + onnxruntime on the tiny test models)."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from ganserve import errors
from ganserve.client import AsyncClient, Client, Retry
from ganserve.results import Generation
from service.noise import seeded_noise
from tests.client.conftest import API_KEY


def test_models_are_listed_with_kind_size_and_classes(server_url: str) -> None:
    with Client(server_url) as c:
        models = {m.name: m for m in c.models()}
        assert c.model("cgen").class_names == [f"c{i}" for i in range(10)]
    assert {n: m.kind for n, m in models.items()} == {
        "gen": "unconditional",
        "cgen": "conditional",
        "translate": "translation",
    }
    assert (models["gen"].channels, models["gen"].height, models["gen"].width) == (1, 8, 8)
    assert models["cgen"].num_classes == 10
    assert models["translate"].input_image == {"channels": 1, "height": 8, "width": 8}


def test_generate_returns_seeds_labels_and_images_reproducible_alone(server_url: str) -> None:
    with Client(server_url) as c:
        out = c.generate("cgen", 6, seed=40, labels="c3", truncation=0.7)
        alone = c.generate("cgen", 1, seed=43, labels=3, truncation=0.7)
        drawn = c.generate("gen", 2)
    assert out.model == "cgen" and out.version == "1"
    assert out.seeds == [40, 41, 42, 43, 44, 45] and out.labels == [3] * 6
    assert out.to_numpy().shape == (6, 8, 8) and out.to_numpy().dtype == np.uint8
    assert alone.images[0].png == out.images[3].png  # same seed, same bytes, whatever shared the batch
    assert out.images[3].text == {"model": "cgen", "version": "1", "seed": "43", "label": "c3", "truncation": "0.7"}
    assert drawn.seeds[1] == drawn.seeds[0] + 1  # the server drew a seed and said which


def test_pictures_come_in_the_format_asked_with_their_provenance(server_url: str) -> None:
    with Client(server_url) as c:
        png = c.generate("cgen", 3, seed=40, labels="c3")
        jpeg = c.generate("cgen", 3, seed=40, labels="c3", format="jpeg", quality=95)
        walk = asyncio.run(_interpolate_webp(server_url))
    assert [im.format for im in jpeg.images] == ["jpeg"] * 3 and jpeg.images[0].data[:2] == b"\xff\xd8"
    assert jpeg.images[1].text == png.images[1].text == {
        "model": "cgen", "version": "1", "seed": "41", "label": "c3", "truncation": "1.0"
    }  # fmt: skip
    error = np.abs(jpeg.to_numpy().astype(int) - png.to_numpy()).mean()
    assert error < 12, error  # the same pixels within JPEG's loss (8x8 test pictures are all edges)
    with pytest.raises(ValueError, match=r"use \.data"):
        _ = jpeg.images[0].png
    assert [im.format for im in walk.images] == ["webp"] * 3 and walk.images[0].image.format == "WEBP"


async def _interpolate_webp(url: str) -> Generation:
    async with AsyncClient(url) as c:
        return await c.interpolate("gen", [1, 2], steps=3, format="webp")


def test_v2_infer_matches_generate(server_url: str) -> None:
    """The raw tensor over v2 for seed 5's noise is the image /generate encodes for seed 5."""
    with Client(server_url) as c:
        out = c.infer("gen", {"z": seeded_noise([5], 8)})
        png = c.generate("gen", 1, seed=5).images[0].to_numpy()
        as_json = c.infer("gen", {"z": seeded_noise([5], 8)}, binary=False)
    image = out["image"]
    assert image.shape == (1, 1, 8, 8) and image.dtype == np.float32
    assert image.tobytes() == as_json["image"].tobytes()  # binary and JSON tensors: the same bits
    np.testing.assert_allclose((image[0, 0] + 1) * 127.5, png, atol=0.51)


def test_translate_accepts_paths_arrays_and_pil(server_url: str, tmp_path) -> None:
    path = tmp_path / "in.png"
    array = (np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)
    with Client(server_url) as c:
        from PIL import Image

        Image.fromarray(array).save(path)
        by_path = c.translate("translate", path)
        by_array = c.translate("translate", array)
        by_pil = c.translate("translate", Image.fromarray(array), version="1")
    assert by_path.images[0].png == by_array.images[0].png == by_pil.images[0].png
    assert by_path.images[0].to_numpy().shape == (8, 8)
    with Client(server_url) as c, pytest.raises(errors.NotFoundError, match="version"):
        c.translate("translate", array, version="9")


def test_server_error_messages_reach_the_caller(server_url: str) -> None:
    with Client(server_url) as c:
        with pytest.raises(errors.NotFoundError, match="unknown model 'nope'; served models: cgen, gen, translate"):
            c.generate("nope")
        with pytest.raises(errors.BadRequestError, match="class index 12 out of range") as info:
            c.generate("cgen", labels=12)
        assert info.value.status_code == 422 and info.value.error_type == "invalid_request"
        with pytest.raises(errors.BadRequestError, match="translate instead"):
            c.generate("translate")
        with pytest.raises(errors.BadRequestError, match="steps"):
            c.interpolate("gen", [1, 2], steps=1000)
        with pytest.raises(errors.BadRequestError, match="not a PNG or JPEG"):
            c.translate("translate", b"definitely not an image")


def test_api_key(keyed_server_url: str) -> None:
    with Client(keyed_server_url, api_key="") as c, pytest.raises(errors.AuthenticationError, match="API key") as info:
        c.models()
    assert info.value.status_code == 401
    with Client(keyed_server_url, api_key="wrong") as c, pytest.raises(errors.AuthenticationError):
        c.generate("gen")
    with Client(keyed_server_url, api_key=API_KEY) as c:
        assert [m.name for m in c.models()] == ["cgen", "gen", "translate"]
        assert c.generate("gen", 2, seed=1).seeds == [1, 2]


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real transport that remembers every status it saw, to show that refusals were retried."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


async def flood(url: str, retry: Retry, transport: httpx.AsyncBaseTransport | None = None) -> list[object]:
    """24 concurrent requests of 4 images each at a server whose queue holds 8 items."""
    async with AsyncClient(url, retry=retry, transport=transport) as c:
        return await asyncio.gather(*(c.generate("dcgan", 4, seed=100 * i) for i in range(24)), return_exceptions=True)


async def test_overload_gives_503_with_retry_after_and_retries_get_through(tight_server_url: str) -> None:
    refused = [r for r in await flood(tight_server_url, Retry(attempts=1)) if isinstance(r, BaseException)]
    assert refused, "the flood should overflow a queue of 8 items"
    assert all(isinstance(r, errors.OverloadedError) for r in refused), refused
    first = refused[0]
    assert isinstance(first, errors.OverloadedError)
    assert first.status_code == 503 and first.retry_after is not None and first.message

    counting = CountingTransport()
    results = await flood(tight_server_url, Retry(attempts=30, backoff=0.01, max_wait=0.05), counting)
    assert all(not isinstance(r, BaseException) for r in results), [r for r in results if isinstance(r, BaseException)]
    assert 503 in counting.statuses and counting.statuses.count(200) == 24
