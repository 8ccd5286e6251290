"""Every output format decodes to the model's pixels within its loss, and carries provenance where it can."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from service.formats import Codec, Format, encode_image, encode_npy, read_provenance

TEXT = {"model": "m", "version": "3", "seed": "42", "label": "7"}
# mean absolute error (0..255) each format may add on smooth pictures at quality 90: lossless formats none
LOSS = {Format.png: 0.0, Format.jpeg: 6.0, Format.webp: 6.0}


def smooth(channels: int, size: int = 32) -> np.ndarray:
    """A photo-like picture: gradients, not noise (lossy codecs are built for those)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    planes = [(x * 255 / size), (y * 255 / size), ((x + y) * 127 / size)][:channels]
    return np.stack(planes, axis=-1).astype(np.uint8)


def decode(data: bytes, channels: int) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    return np.asarray(image.convert("L" if channels == 1 else "RGB")).reshape(image.height, image.width, channels)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("fmt", [Format.png, Format.jpeg, Format.webp])
def test_pictures_decode_to_the_same_pixels_within_their_loss(fmt: Format, channels: int) -> None:
    pixels = smooth(channels)
    data = encode_image(pixels, fmt, Codec(), TEXT)
    assert Image.open(io.BytesIO(data)).format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt.value]
    error = np.abs(decode(data, channels).astype(np.int16) - pixels).mean()
    assert error <= LOSS[fmt], f"{fmt}: mean error {error:.2f}"
    assert read_provenance(data) == TEXT


@pytest.mark.parametrize("fmt", [Format.jpeg, Format.webp])
def test_quality_trades_bytes_for_fidelity(fmt: Format) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    low, high = (encode_image(pixels, fmt, Codec(), quality=q) for q in (20, 95))
    assert len(low) < len(high)
    err = [np.abs(decode(d, 3).astype(np.int16) - pixels).mean() for d in (low, high)]
    assert err[1] < err[0]
    assert encode_image(pixels, fmt, Codec(jpeg_quality=20, webp_quality=20)) == low  # the server's default


def test_png_bytes_are_reproducible_and_follow_the_level() -> None:
    pixels = smooth(3, 64)
    assert encode_image(pixels, Format.png, Codec(), TEXT) == encode_image(pixels.copy(), Format.png, Codec(), TEXT)
    fast, small = (encode_image(pixels, Format.png, Codec(png_level=level)) for level in (1, 9))
    assert fast != small and np.array_equal(decode(fast, 3), decode(small, 3))


def test_raw_tensors_are_uint8_nhwc_npy() -> None:
    stack = np.stack([smooth(3, 8), 255 - smooth(3, 8)])
    out = np.load(io.BytesIO(encode_npy(stack)), allow_pickle=False)
    assert out.dtype == np.uint8 and out.shape == (2, 8, 8, 3) and np.array_equal(out, stack)


def test_npy_is_not_a_picture_format() -> None:
    with pytest.raises(ValueError, match="not a picture"):
        encode_image(smooth(1), Format.npy, Codec())


@pytest.mark.parametrize("channels", [1, 3])
def test_every_png_level_keeps_the_pixels_and_names_its_deflate(channels: int) -> None:
    pixels = smooth(channels, 64)
    for level in range(10):
        data = encode_image(pixels, Format.png, Codec(png_level=level), TEXT)
        assert np.array_equal(decode(data, channels), pixels), level
        assert read_provenance(data) == TEXT
    # igzip (ISA-L) for 1-3, zlib for the rest: the ETag's codec identity follows the library that wrote the bytes
    assert "isal" in Codec(png_level=1).identity(Format.png) and "zlib" in Codec(png_level=6).identity(Format.png)
    stored = encode_image(pixels, Format.png, Codec(png_level=0))
    assert len(stored) > pixels.size  # level 0 stores the rows uncompressed


def test_codec_identity_changes_with_every_setting_that_changes_bytes() -> None:
    ids = {
        Codec().identity(Format.png),
        Codec(png_level=2).identity(Format.png),
        Codec().identity(Format.jpeg),
        Codec().identity(Format.jpeg, 50),
        Codec(jpeg_quality=50).identity(Format.webp),
        Codec().identity(Format.webp),
        Codec().identity(Format.npy),
    }
    assert len(ids) == 6  # webp's quality is its own setting: jpeg_quality does not change webp bytes
    assert Codec(jpeg_quality=50).identity(Format.jpeg) == Codec().identity(Format.jpeg, 50)


def test_jpeg_provenance_sits_after_the_jfif_segment() -> None:
    data = encode_image(smooth(3), Format.jpeg, Codec(), TEXT)
    assert data[:4] == b"\xff\xd8\xff\xe0"  # SOI, then JFIF's APP0 first as JFIF readers require
    app1 = 4 + int.from_bytes(data[4:6], "big")
    assert data[app1 : app1 + 2] == b"\xff\xe1" and data[app1 + 4 : app1 + 10] == b"Exif\x00\x00"
    assert Image.open(io.BytesIO(data)).getexif()[0x0131] == "ganserve"
