"""Output formats: uint8 pixels -> PNG, JPEG, WebP or raw tensor bytes, with provenance where the format carries it.

    encode_image(pixels, Format.jpeg, Codec(jpeg_quality=90), {"model": "m", "seed": "42"})   # (H, W, C) -> bytes
    encode_npy(stack)                                                                         # (N, H, W, C) -> bytes

PNG is written by `service.codecs.encode_png` (our own writer: bytes fixed by this code and zlib, tEXt chunks).
JPEG and WebP go through Pillow (libjpeg / libwebp): their bytes are stable only for a given codec version.
Provenance travels as tEXt chunks in PNG and as EXIF ImageDescription (JSON text) in JPEG and WebP; a `.npy`
header cannot hold extra keys, so raw tensors carry it in the response headers only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image

from service.codecs import encode_png


class Format(StrEnum):
    png = "png"
    jpeg = "jpeg"
    webp = "webp"
    npy = "npy"


MEDIA_TYPES = {
    Format.png: "image/png",
    Format.jpeg: "image/jpeg",
    Format.webp: "image/webp",
    Format.npy: "application/x-npy",
}
LOSSY = frozenset({Format.jpeg, Format.webp})
IMAGE_FORMATS = (Format.png, Format.jpeg, Format.webp)  # one picture per image (JSON answers, grids)
EXIF_DESCRIPTION = 0x010E  # ImageDescription
EXIF_SOFTWARE = 0x0131
WEBP_METHOD = 2  # libwebp's speed/size trade-off (0 fastest .. 6 smallest); 2 is ~25% faster than the default 4


@dataclass(frozen=True)
class Codec:
    """Encoder settings: PNG deflate level, and the quality of the lossy formats (1..100)."""

    png_level: int = 1
    jpeg_quality: int = 90
    webp_quality: int = 90

    def quality(self, fmt: Format, asked: int | None) -> int | None:
        """The quality a request gets: its own if it asked, else this server's default; None for lossless."""
        if fmt is Format.jpeg:
            return asked or self.jpeg_quality
        if fmt is Format.webp:
            return asked or self.webp_quality
        return None


def encode_image(
    pixels: np.ndarray, fmt: Format, codec: Codec, text: Mapping[str, str] | None = None, quality: int | None = None
) -> bytes:
    """(H, W, C) uint8, C in {1, 3} -> one picture in `fmt` (png, jpeg or webp), tagged with `text`."""
    if fmt is Format.png:
        return encode_png(pixels, text, codec.png_level)
    if fmt not in LOSSY:
        raise ValueError(f"{fmt} is not a picture format")
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    buf = io.BytesIO()
    exif = _exif(text)
    if fmt is Format.jpeg:
        image.save(buf, "JPEG", quality=codec.quality(fmt, quality), exif=exif)
    else:  # libwebp stores colour only; grey pictures come back as three equal channels
        image.save(buf, "WEBP", quality=codec.quality(fmt, quality), method=WEBP_METHOD, exif=exif)
    return buf.getvalue()


def encode_npy(pixels: np.ndarray) -> bytes:
    """(N, H, W, C) uint8 -> `.npy` bytes (numpy.load reads them; shape and dtype are in the header)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(pixels), allow_pickle=False)
    return buf.getvalue()


def _exif(text: Mapping[str, str] | None) -> bytes:
    exif = Image.Exif()
    exif[EXIF_SOFTWARE] = "ganserve"
    if text:
        exif[EXIF_DESCRIPTION] = json.dumps(dict(text), separators=(",", ":"))
    return exif.tobytes()


def read_provenance(data: bytes) -> dict[str, str]:
    """The provenance a picture carries (PNG tEXt, or JPEG/WebP EXIF ImageDescription): for clients and tests."""
    image = Image.open(io.BytesIO(data))
    if image.format == "PNG":
        return dict(getattr(image, "text", {}))
    description = image.getexif().get(EXIF_DESCRIPTION)
    return dict(json.loads(description)) if description else {}
