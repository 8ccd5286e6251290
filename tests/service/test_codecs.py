"""PNG writing (with provenance chunks) and upload decoding behind byte/pixel limits."""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
import pytest
from PIL import Image

from service import codecs
from service.codecs import b64decode, decode_upload, encode_png, grid, to_uint8
from service.errors import InvalidImage, MalformedRequest, PayloadTooLarge


def test_png_round_trips_pixels_and_text_chunks() -> None:
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        pixels = rng.integers(0, 256, (5, 7, channels), dtype=np.uint8)
        image = Image.open(io.BytesIO(encode_png(pixels, {"model": "m", "seed": "42"})))
        assert image.text == {"model": "m", "seed": "42"}
        assert np.array_equal(np.asarray(image).reshape(5, 7, channels), pixels)


def test_to_uint8_maps_the_output_range_and_clips() -> None:
    rows = np.array([-1.0, 0.0, 1.0, 7.0], np.float32).reshape(1, 1, 1, 4)
    assert to_uint8(rows, (-1.0, 1.0)).ravel().tolist() == [0, 128, 255, 255]


def test_grid_places_cells_row_major_with_padding() -> None:
    cells = np.stack([np.full((2, 2, 1), i + 1, np.uint8) for i in range(5)])
    out = grid(cells, pad=1)
    assert out.shape == (7, 10, 1)  # 3 columns, 2 rows
    assert out[1, 1, 0] == 1 and out[1, 4, 0] == 2 and out[4, 1, 0] == 4 and out[4, 7, 0] == 0


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def decode(data: bytes, **kw: object) -> np.ndarray:
    options: dict[str, object] = {
        "channels": 1,
        "size": (8, 8),
        "value_range": (-1.0, 1.0),
        "max_bytes": 10**6,
        "max_pixels": 10**6,
    } | kw
    return decode_upload(data, **options)  # type: ignore[arg-type]


def test_uploads_are_converted_resized_and_scaled() -> None:
    out = decode(encoded(Image.new("RGB", (20, 10), (255, 255, 255)), "JPEG"))
    assert out.shape == (1, 1, 8, 8) and out.dtype == np.float32
    assert np.allclose(out, 1.0, atol=0.02)
    assert decode(encoded(Image.new("L", (3, 5))), size=None).shape == (1, 1, 5, 3)


def test_bad_uploads_are_refused_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge, match="bytes"):
        decode(b"x" * 2000, max_bytes=1000)
    with pytest.raises(PayloadTooLarge, match="pixels"):
        decode(encoded(Image.new("L", (2000, 1000))), max_pixels=1_000_000)
    with pytest.raises(InvalidImage, match="not a PNG or JPEG"):
        decode(encoded(Image.new("L", (8, 8)), "GIF"))
    with pytest.raises(InvalidImage, match="empty"):
        decode(b"")
    noisy = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)))
    with pytest.raises(InvalidImage, match="truncated"):
        decode(noisy[: len(noisy) // 2])


def test_base64() -> None:
    assert b64decode("data:image/png;base64,aGk=", "image") == b"hi"
    with pytest.raises(MalformedRequest, match="'image' is not valid base64"):
        b64decode("a b c", "image")


def test_long_base64_is_decoded_in_slices_with_the_same_result_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecs, "B64_SLICE", 8)
    data = bytes(range(256)) * 3
    text = base64.b64encode(data).decode()
    assert b64decode(text, "image") == data
    assert b64decode(base64.b64encode(data[:-1]).decode(), "image") == data[:-1]  # padding in the last slice
    for odd in (
        text[:8] + "====" + text[12:],
        text[:20] + "*" + text[21:],
        text[:-1],
        text[:-4] + "A=AA",
        text + "AAAA=",
    ):
        try:
            expected: bytes | str = base64.b64decode(odd, validate=True)
        except binascii.Error as e:
            expected = str(e)
        try:
            got: bytes | str = b64decode(odd, "image")
        except MalformedRequest as e:
            got = e.message.removeprefix("'image' is not valid base64 (").removesuffix(")")
        assert got == expected
