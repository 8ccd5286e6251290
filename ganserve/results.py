"""What the client returns: model descriptions and images with the seed and class that made them."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin


@dataclass(frozen=True)
class ModelInfo:
    """One served model, as `GET /v1/models/{name}` describes it."""

    name: str
    version: str
    kind: str  # unconditional | conditional | translation
    channels: int
    height: int
    width: int
    versions: list[str] = field(default_factory=list)
    latent_dim: int | None = None
    num_classes: int | None = None
    class_names: list[str] | None = None
    input_image: dict[str, int] | None = None
    provider: str | None = None
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    request_id: str | None = field(default=None, compare=False)  # the server's X-Request-ID for the call

    @classmethod
    def from_json(cls, d: dict[str, Any], request_id: str | None = None) -> ModelInfo:
        image = d.get("image") or {}
        return cls(
            name=d["name"],
            version=str(d.get("version", "")),
            kind=d["kind"],
            channels=int(image.get("channels", 0)),
            height=int(image.get("height", 0)),
            width=int(image.get("width", 0)),
            versions=[str(v) for v in d.get("versions") or []],
            latent_dim=d.get("latent_dim"),
            num_classes=d.get("num_classes"),
            class_names=d.get("class_names"),
            input_image=d.get("input_image"),
            provider=d.get("provider"),
            description=d.get("description") or "",
            raw=d,
            request_id=request_id,
        )


PICTURE_FORMATS = ("png", "jpeg", "webp")  # what a JSON answer's pictures can be (the request's `format`)
EXIF_DESCRIPTION = 0x010E  # where the server puts provenance (JSON) in JPEG and WebP pictures


@dataclass(frozen=True)
class GeneratedImage:
    """One image of an answer: `data` holds the server's exact bytes in `format`, provenance included."""

    data: bytes
    seed: int | None = None
    label: int | None = None
    t: float | None = None  # interpolation position in [0, 1]
    request_id: str | None = field(default=None, compare=False)  # the server's X-Request-ID for the call
    format: str = "png"  # png | jpeg | webp

    @property
    def png(self) -> bytes:
        """The PNG bytes (the default format); asking for them from a JPEG or WebP answer is an error."""
        if self.format != "png":
            raise ValueError(f"this image is {self.format}, not png: use .data")
        return self.data

    @property
    def image(self) -> Image.Image:
        """The image as PIL (decoded on each access; keep the result if you use it twice)."""
        img = Image.open(io.BytesIO(self.data))
        img.load()
        return img

    @property
    def text(self) -> dict[str, str]:
        """The provenance the picture carries (model, version, seed, label, truncation): PNG text chunks, or
        the JSON in JPEG/WebP EXIF ImageDescription."""
        image = self.image
        if self.format == "png":
            return dict(getattr(image, "text", {}))
        description = image.getexif().get(EXIF_DESCRIPTION)
        return dict(json.loads(description)) if description else {}

    def to_numpy(self) -> np.ndarray:
        """uint8 pixels, (H, W) for grey images or (H, W, C) for colour."""
        return np.asarray(self.image)

    def save(self, path: str) -> None:
        """Write the server's bytes unchanged, so the provenance survives."""
        with open(path, "wb") as f:
            f.write(self.data)

    @classmethod
    def from_json(cls, d: dict[str, Any], request_id: str | None = None) -> GeneratedImage:
        fmt = next((f for f in PICTURE_FORMATS if f in d), "png")
        return cls(
            data=base64.b64decode(d[fmt]),
            seed=d.get("seed"),
            label=d.get("label"),
            t=d.get("t"),
            request_id=request_id,
            format=fmt,
        )


@dataclass(frozen=True)
class Generation:
    """An answer of generate, interpolate or translate."""

    model: str
    version: str
    images: list[GeneratedImage]
    request_id: str | None = field(default=None, compare=False)  # the server's X-Request-ID: quote it in reports

    @property
    def seeds(self) -> list[int | None]:
        return [im.seed for im in self.images]

    @property
    def labels(self) -> list[int | None]:
        return [im.label for im in self.images]

    def pil(self) -> list[Image.Image]:
        return [im.image for im in self.images]

    def to_numpy(self) -> np.ndarray:
        """All images stacked: uint8 (N, H, W) or (N, H, W, C)."""
        return np.stack([im.to_numpy() for im in self.images])

    def grid(self, cols: int | None = None, pad: int = 2) -> Image.Image:
        """The images tiled row by row (`cols` defaults to a near-square layout)."""
        return tile(self.pil(), cols=cols, pad=pad)

    def save_grid(self, path: str, cols: int | None = None) -> None:
        """Write `grid(cols)` as a PNG whose text chunks record the model, version, seeds and labels."""
        info = PngImagePlugin.PngInfo()
        info.add_text("model", self.model)
        info.add_text("version", self.version)
        if any(s is not None for s in self.seeds):
            info.add_text("seeds", ",".join(str(s) for s in self.seeds))
        if any(lb is not None for lb in self.labels):
            info.add_text("labels", ",".join(str(lb) for lb in self.labels))
        self.grid(cols).save(path, format="PNG", pnginfo=info)

    @classmethod
    def from_json(cls, d: dict[str, Any], request_id: str | None = None) -> Generation:
        return cls(
            model=d.get("model", ""),
            version=str(d.get("version", "")),
            images=[GeneratedImage.from_json(im, request_id) for im in d.get("images", [])],
            request_id=request_id,
        )


class Tensors(dict[str, np.ndarray]):
    """The output tensors of a v2 `infer` call, by name, with the call's `request_id`."""

    request_id: str | None = None


def tile(images: list[Image.Image], cols: int | None = None, pad: int = 2) -> Image.Image:
    """Paste images of one size onto a black canvas, `cols` per row."""
    if not images:
        raise ValueError("no images to tile")
    n = len(images)
    if n == 1:
        return images[0].copy()  # one image is saved as itself, like the server's PNG answer for n=1
    cols = cols or max(1, int(np.ceil(np.sqrt(n))))
    rows = -(-n // cols)
    mode = "RGB" if any(im.mode not in ("L", "1") for im in images) else "L"
    w, h = images[0].size
    canvas = Image.new(mode, (cols * w + (cols + 1) * pad, rows * h + (rows + 1) * pad))
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        canvas.paste(im.convert(mode), (pad + c * (w + pad), pad + r * (h + pad)))
    return canvas
