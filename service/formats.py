"""Output formats: uint8 pixels -> PNG, JPEG, WebP or raw tensor bytes, with provenance where the format carries it.

    encode_image(pixels, Format.jpeg, Codec(jpeg_quality=90), {"model": "m", "seed": "42"})   # (H, W, C) -> bytes
    encode_npy(stack)                                                                         # (N, H, W, C) -> bytes

PNG is written by `service.codecs.encode_png` (our own writer: bytes fixed by this code and the deflate library,
tEXt chunks). JPEG goes through simplejpeg (libjpeg-turbo, ~8x less CPU than Pillow's JPEG path on 64x64
pictures), WebP through Pillow (libwebp): lossy bytes are stable only for a given codec version, which
`Codec.identity` names. Provenance travels as tEXt chunks in PNG and as EXIF ImageDescription (JSON text) in JPEG
and WebP; a `.npy` header cannot hold extra keys, so raw tensors carry it in the response headers only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import simplejpeg
from PIL import Image, features

from service.codecs import deflate_library, encode_png
from service.exif import IMAGE_DESCRIPTION, exif_payload, exif_segment


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
JFIF_APP0 = b"\xff\xe0"  # the JFIF segment libjpeg writes right after SOI (EXIF's APP1 follows it, as Pillow does)
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

    def identity(self, fmt: Format, quality: int | None = None) -> str:
        """Everything besides the pixels that fixes an answer's bytes in `fmt`: setting and library version."""
        if fmt is Format.png:
            return f"png|level {self.png_level}|{deflate_library(self.png_level)}"
        if fmt is Format.jpeg:
            return f"jpeg|q{self.quality(fmt, quality)}|simplejpeg {simplejpeg.__version__}"
        if fmt is Format.webp:
            return f"webp|q{self.quality(fmt, quality)}|m{WEBP_METHOD}|libwebp {features.version('webp')}"
        return "npy|format 1.0"


def encode_image(
    pixels: np.ndarray, fmt: Format, codec: Codec, text: Mapping[str, str] | None = None, quality: int | None = None
) -> bytes:
    """(H, W, C) uint8, C in {1, 3} -> one picture in `fmt` (png, jpeg or webp), tagged with `text`."""
    if fmt is Format.png:
        return encode_png(pixels, text, codec.png_level)
    if fmt is Format.jpeg:
        grey = pixels.shape[2] == 1
        jpeg: bytes = simplejpeg.encode_jpeg(
            np.ascontiguousarray(pixels), codec.quality(fmt, quality), "GRAY" if grey else "RGB", "420"
        )
        at = 4 + int.from_bytes(jpeg[4:6], "big") if jpeg[2:4] == JFIF_APP0 else 2  # after SOI and JFIF's APP0
        return jpeg[:at] + exif_segment(text) + jpeg[at:]
    if fmt is not Format.webp:
        raise ValueError(f"{fmt} is not a picture format")
    # libwebp stores colour only; grey pictures come back as three equal channels
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    buf = io.BytesIO()
    image.save(buf, "WEBP", quality=codec.quality(fmt, quality), method=WEBP_METHOD, exif=exif_payload(text))
    return buf.getvalue()


def encode_npy(pixels: np.ndarray) -> bytes:
    """(N, H, W, C) uint8 -> `.npy` bytes (numpy.load reads them; shape and dtype are in the header)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(pixels), allow_pickle=False)
    return buf.getvalue()


def read_provenance(data: bytes) -> dict[str, str]:
    """The provenance a picture carries (PNG tEXt, or JPEG/WebP EXIF ImageDescription): for clients and tests."""
    image = Image.open(io.BytesIO(data))
    if image.format == "PNG":
        return dict(getattr(image, "text", {}))
    description = image.getexif().get(IMAGE_DESCRIPTION)
    return dict(json.loads(description)) if description else {}
