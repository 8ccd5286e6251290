"""How the client's values become HTTP and back: path quoting, JSON fields, uploads, and answers read."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
from PIL import Image

from ganserve import tensors
from ganserve.results import Generation, Tensors

Label = int | str
ImageInput = str | os.PathLike[str] | bytes | Image.Image | np.ndarray


def request_id(response: httpx.Response) -> str | None:
    """The ID the server answered with (it keeps ours unless it was unsafe), else the one we sent."""
    sent: str | None = response.request.headers.get("x-request-id")
    answered: str | None = response.headers.get("x-request-id")
    return answered or sent


def generation(response: httpx.Response) -> Generation:
    return Generation.from_json(response.json(), request_id(response))


def tensor_answer(response: httpx.Response) -> Tensors:
    out = Tensors(tensors.decode_response(response.content, response.headers.get(tensors.HEADER_LENGTH)))
    out.request_id = request_id(response)
    return out


def q(name: str) -> str:
    return quote(name, safe="")


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def listify(labels: Label | Sequence[Label] | None) -> Label | list[Label] | None:
    if labels is None or isinstance(labels, (int, str)):
        return labels
    return [lb.item() if isinstance(lb, np.generic) else lb for lb in labels]


def int_or_none(label: Label | None) -> int | None:
    return int(label) if isinstance(label, int) or (isinstance(label, str) and label.isdigit()) else None


def image_file(image: ImageInput) -> tuple[str, bytes, str]:
    """(file name, bytes, content type) for a multipart upload."""
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        kind = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}.get(
            path.suffix.lower(), "application/octet-stream"
        )
        return path.name, path.read_bytes(), kind
    if isinstance(image, bytes):
        return "image.png", image, "image/jpeg" if image[:3] == b"\xff\xd8\xff" else "image/png"
    if isinstance(image, np.ndarray):
        array = image
        if array.dtype != np.uint8:
            # Float arrays are taken in the models' range [-1, 1].
            array = ((np.clip(array.astype(np.float32), -1.0, 1.0) + 1.0) * 127.5).round().astype(np.uint8)
        image = Image.fromarray(np.squeeze(array) if array.ndim == 3 and array.shape[-1] == 1 else array)
    if isinstance(image, Image.Image):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return "image.png", buf.getvalue(), "image/png"
    raise TypeError(f"cannot upload {type(image).__name__}: pass a path, PNG/JPEG bytes, a PIL image or a numpy array")


def picture(format: str | None, quality: int | None) -> dict[str, Any]:
    """The body fields that choose a JSON answer's picture format (png, jpeg, webp) and lossy quality (1-100)."""
    return drop_none({"format": format, "quality": quality})
