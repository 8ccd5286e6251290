"""The per-request encoder: rows in (in slices, as batches deliver them), one response body out, per answer shape."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from service.codecs import encode_png, grid, to_uint8
from service.encoding import Answer, answer_bytes, check_answer_size
from service.errors import PayloadTooLarge
from service.formats import Codec, Format, read_provenance
from service.negotiation import Representation

ROWS = np.linspace(-1, 1, 5 * 3 * 4 * 6, dtype=np.float32).reshape(5, 3, 4, 6)  # (N, C, H, W) model output
PIXELS = to_uint8(ROWS, (-1.0, 1.0))  # (N, H, W, C)


def run(answer: Answer, splits: tuple[int, ...] = (2, 5)) -> bytes:
    """Feed the rows in slices, as consecutive batches would, then assemble."""
    parts, start = [], 0
    for stop in splits:
        parts += answer.rows(ROWS[start:stop], start)
        start = stop
    return answer.body(parts)


def make(rep: Representation, n: int = 5) -> Answer:
    return Answer(
        rep,
        Codec(),
        (-1.0, 1.0),
        n,
        texts=[{"seed": str(i)} for i in range(n)],
        meta=[{"seed": i} for i in range(n)],
        envelope={"model": "m", "version": "1"},
        text={"model": "m", "seeds": f"0-{n - 1}"},
    )


def test_json_holds_one_picture_per_row_with_its_fields() -> None:
    body = json.loads(run(make(Representation(Format.jpeg, json=True))))
    assert body["model"] == "m" and [im["seed"] for im in body["images"]] == [0, 1, 2, 3, 4]
    data = base64.b64decode(body["images"][3]["jpeg"])
    assert Image.open(io.BytesIO(data)).format == "JPEG" and read_provenance(data) == {"seed": "3"}


def test_json_png_pictures_are_the_png_writers_bytes() -> None:
    body = json.loads(run(make(Representation(Format.png, json=True))))
    assert base64.b64decode(body["images"][4]["png"]) == encode_png(PIXELS[4], {"seed": "4"})


def test_several_rows_as_an_image_make_one_grid_tagged_for_the_whole_answer() -> None:
    data = run(make(Representation(Format.png, json=False)))
    assert data == encode_png(grid(PIXELS), {"model": "m", "seeds": "0-4"})


def test_one_row_as_an_image_is_that_picture() -> None:
    answer = make(Representation(Format.webp, json=False), n=1)
    data = answer.body(answer.rows(ROWS[:1], 0))
    assert Image.open(io.BytesIO(data)).size == (6, 4) and read_provenance(data) == {"seed": "0"}


def test_raw_tensors_stack_every_row() -> None:
    out = np.load(io.BytesIO(run(make(Representation(Format.npy, json=False)))))
    assert np.array_equal(out, PIXELS)


@pytest.mark.parametrize(
    ("rep", "n", "size"),
    [
        (Representation(Format.npy, json=False), 16, 16 * 3 * 64 * 64),
        (Representation(Format.npy, json=False), 1, 3 * 64 * 64),
        (Representation(Format.png, json=False), 4, (2 * 66 + 2) ** 2 * 3),
        (Representation(Format.jpeg, json=False), 1, 0),  # one picture: no grid
        (Representation(Format.png, json=True), 256, 0),
    ],
)
def test_answer_bytes(rep: Representation, n: int, size: int) -> None:
    assert answer_bytes(rep, n, (3, 64, 64)) == size


def test_a_grid_or_tensor_over_the_limit_is_413_saying_how_to_fix_it() -> None:
    with pytest.raises(PayloadTooLarge, match=r"raw tensor of 256 images of 64x64x3 .*GANSERVE_MAX_ANSWER_BYTES"):
        check_answer_size(Representation(Format.npy, json=False), 256, (3, 64, 64), 1_000_000)
    check_answer_size(Representation(Format.png, json=True), 256, (3, 64, 64), 1_000_000)
