"""Image codecs: model output rows -> PNG bytes (with provenance tEXt chunks), uploads -> model input.

PNGs are written by hand (deflate + chunks) rather than through Pillow: for 28x28 images that is several
times faster, and the bytes are stable across Pillow releases, which strong ETags rely on. Deflate levels 1-3 go
through ISA-L's igzip (the `isal` package), 4-5x faster than zlib at level 1 and a few per cent smaller on these
pictures; level 0 (stored) and 4-9 through zlib. igzip's bytes are fixed for a given ISA-L version on x86-64 hosts
with SSE4.2 (every x86-64 server CPU since 2008); ARM hosts write other, equally valid bytes of the same pixels.
Uploads are decoded with Pillow behind byte and pixel limits checked before any pixel is decompressed.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import zlib
from collections.abc import Mapping

import numpy as np
from isal import ISAL_VERSION, isal_zlib
from PIL import Image, UnidentifiedImageError

from service.errors import InvalidImage, MalformedRequest, PayloadTooLarge

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UPLOAD_FORMATS = ("PNG", "JPEG")
PNG_LEVEL = 1  # deflate level (GANSERVE_PNG_LEVEL); docs/performance.md has what each level costs
ISAL_LEVELS = range(1, 4)  # igzip's levels; 0 (stored) and 4-9 are zlib's


def deflate_library(level: int) -> str:
    """Which deflate writes a PNG at `level`, with its version: part of the `/images` ETag, since bytes follow it."""
    return f"isal {ISAL_VERSION}" if level in ISAL_LEVELS else f"zlib {zlib.ZLIB_RUNTIME_VERSION}"


def deflate(data: bytes, level: int) -> bytes:
    """zlib-format deflate of `data` at `level` (0-9): ISA-L for 1-3, zlib otherwise."""
    return isal_zlib.compress(data, level) if level in ISAL_LEVELS else zlib.compress(data, level)


def to_uint8(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) floats in value_range -> (N, H, W, C) uint8, rounding to nearest."""
    lo, hi = value_range
    scaled = images.astype(np.float32, copy=False) - np.float32(lo)  # the one float copy; the rest is in place
    scaled *= np.float32(255.0 / (hi - lo))
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    pixels: np.ndarray = scaled.astype(np.uint8)
    return pixels.transpose(0, 2, 3, 1)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, text: Mapping[str, str] | None = None, level: int = PNG_LEVEL) -> bytes:
    """(H, W, C) uint8 with C in {1, 3} -> PNG bytes, with one tEXt chunk per `text` entry.

    Colour rows use PNG's Sub filter (each byte minus the same channel of the pixel on its left), grey rows none:
    on 64x64 colour pictures Sub makes the file a third smaller for a quarter more time, while on the mostly
    black digits it only adds bytes (docs/performance.md has the measurements). The bytes depend only on the
    pixels, `text`, `level` and the deflate library (`deflate_library`), so they are the same on every run of a
    given version.
    """
    height, width, channels = pixels.shape
    color_type = 0 if channels == 1 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    flat = pixels.reshape(height, width * channels)
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)  # column 0: each row's filter type
    if channels == 1:
        rows[:, 0] = 0  # None
        rows[:, 1:] = flat
    else:
        rows[:, 0] = 1  # Sub; uint8 subtraction wraps modulo 256, as the filter is defined
        rows[:, 1 : 1 + channels] = flat[:, :channels]
        np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, 1 + channels :])
    parts = [_PNG_SIGNATURE, _chunk(b"IHDR", header)]
    for key, value in (text or {}).items():
        parts.append(_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace")))
    parts += [_chunk(b"IDAT", deflate(rows.tobytes(), level)), _chunk(b"IEND", b"")]
    return b"".join(parts)


def grid(pixels: np.ndarray, pad: int = 2) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (H', W', C) image, ceil(sqrt(N)) columns, `pad` black pixels between cells."""
    n, h, w, c = pixels.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y : y + h, x : x + w] = pixels[i]
    return out


B64_SLICE = 1 << 20  # characters per decoding call (a multiple of 4): ~5 ms of GIL, then other threads get a turn


def b64decode(text: str, field: str) -> bytes:
    """Strict base64 (a `data:image/...;base64,` prefix is allowed)."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return _b64decode(text)
    except (binascii.Error, ValueError) as e:
        raise MalformedRequest(f"'{field}' is not valid base64 ({e})") from e


def _b64decode(text: str) -> bytes:
    """`base64.b64decode(text, validate=True)`, one slice at a time: a single call over a 13 MB upload holds the GIL
    for ~80 ms, which stalls the event loop even from a worker thread. Any doubt (an error, padding before the last
    slice) is settled by the single call, so errors read exactly as before."""
    if len(text) <= B64_SLICE:
        return base64.b64decode(text, validate=True)
    parts = []
    try:
        for start in range(0, len(text), B64_SLICE):
            piece = text[start : start + B64_SLICE]
            if "=" in piece and start + B64_SLICE < len(text):
                raise ValueError("padding before the end")
            parts.append(base64.b64decode(piece, validate=True))
    except (binascii.Error, ValueError):
        return base64.b64decode(text, validate=True)
    return b"".join(parts)


def decode_upload(
    data: bytes,
    *,
    channels: int,
    size: tuple[int, int] | None,
    value_range: tuple[float, float],
    max_bytes: int,
    max_pixels: int,
) -> np.ndarray:
    """PNG/JPEG bytes -> (1, C, H, W) float32 in value_range, resized to `size` (H, W) when given.

    Limits are checked on the header, before decompression, so a small file that would expand into a huge
    image (a decompression bomb) is refused without allocating it.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"image is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise InvalidImage("the image is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)  # reads the header only
        width, height = image.size
        if width * height > max_pixels:
            raise PayloadTooLarge(f"image is {width}x{height} pixels; the limit is {max_pixels} pixels")
        image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:  # Pillow's own, coarser limit
        raise PayloadTooLarge(f"image is too large to decode safely ({e})") from e
    except UnidentifiedImageError:
        raise InvalidImage("the upload is not a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidImage(f"the image could not be decoded ({e}); is it truncated?") from None
    converted = image.convert("L" if channels == 1 else "RGB")
    if size is not None and (converted.height, converted.width) != size:
        converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.float32).reshape(converted.height, converted.width, channels)
    lo, hi = value_range
    return (pixels.transpose(2, 0, 1)[None] * ((hi - lo) / 255.0) + lo).astype(np.float32)
