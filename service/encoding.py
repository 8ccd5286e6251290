"""The encoder a route hands to the pipeline: how one request's output rows become its response body.

    answer = Answer(rep, codec, value_range=(-1, 1), n=16, texts=[...], meta=[...], envelope={...}, text={...})
    parts = answer.rows(rows, start)      # encode stage, once per slice of the request that shared a batch
    body = answer.body(parts)             # encode stage, once, when every row is in

The route decides the `Representation` once (service.negotiation); this object knows nothing about HTTP. Four
shapes of answer share it:

    JSON             {"model", "version", "images": [{"<format>": base64, **meta[i]}]}; one picture per row
    one picture      n == 1 and an image type: the picture itself, tagged with texts[0]
    grid             n > 1 and an image type: every row tiled into one picture, tagged with `text`
    raw tensor       application/x-npy: (n, H, W, C) uint8, whatever n is

Everything here runs in the encode pool, off the event loop and off the model's inference thread.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.codecs import grid, to_uint8
from service.errors import PayloadTooLarge
from service.formats import Codec, Format, encode_image, encode_npy
from service.negotiation import Representation

GRID_PAD = 2  # service.codecs.grid's default, repeated here to size a grid before it is drawn


@dataclass(frozen=True)
class Answer:
    rep: Representation
    codec: Codec
    value_range: tuple[float, float]
    n: int
    texts: Sequence[Mapping[str, str]] = ()  # per row: provenance of that row's picture
    meta: Sequence[Mapping[str, Any]] = ()  # per row: the JSON fields beside the picture (seed, label, t)
    envelope: Mapping[str, Any] = field(default_factory=dict)  # JSON: the fields around "images"
    text: Mapping[str, str] = field(default_factory=dict)  # the whole answer's provenance (grid, headers)
    adapt: Callable[[np.ndarray], np.ndarray] | None = None  # the graph's output rows -> (k, C, H, W)

    @property
    def media_type(self) -> str:
        return self.rep.media_type

    @property
    def _pixels_only(self) -> bool:
        """Rows are kept as pixels until every one is in (grid, raw tensor) rather than encoded one by one."""
        return not self.rep.json and (self.rep.format is Format.npy or self.n > 1)

    def rows(self, rows: np.ndarray, start: int) -> list[Any]:
        """k rows of model output (rows start..start+k of the request) -> one part per row."""
        pixels = to_uint8(self.adapt(rows) if self.adapt else rows, self.value_range)  # (k, H, W, C)
        if self._pixels_only:
            return list(pixels)
        quality = self.rep.quality
        pictures = [
            encode_image(p, self.rep.format, self.codec, self._text(start + i), quality) for i, p in enumerate(pixels)
        ]
        return [base64.b64encode(p) for p in pictures] if self.rep.json else pictures

    def body(self, parts: list[Any]) -> bytes:
        """Every row's part, in order -> the response body."""
        if self.rep.json:
            return json_body(self.envelope, self.rep.format.value, parts, self.meta)
        if self.rep.format is Format.npy:
            return encode_npy(np.stack(parts))
        if self.n == 1:
            picture: bytes = parts[0]
            return picture
        return encode_image(grid(np.stack(parts), GRID_PAD), self.rep.format, self.codec, self.text, self.rep.quality)

    def _text(self, i: int) -> Mapping[str, str] | None:
        return self.texts[i] if self.texts else None


def json_body(
    envelope: Mapping[str, Any], key: str, pictures: Sequence[bytes], meta: Sequence[Mapping[str, Any]]
) -> bytes:
    """`json.dumps({**envelope, "images": [{key: pictures[i], **meta[i]}, ...]}).encode()`, byte for byte, with the
    base64 pictures spliced in rather than scanned by the JSON encoder (base64 is ASCII that needs no escaping;
    scanning cost ~25 us per 64x64 picture, a tenth of encoding it)."""
    head = json.dumps({**envelope, "images": []}).encode()  # ends with `[]}`: "images" is the last key
    opening = b'{"' + key.encode() + b'": "'
    items = []
    for i, picture in enumerate(pictures):
        fields = json.dumps(meta[i]).encode() if meta and meta[i] else b"{}"
        items.append(opening + picture + (b'"}' if fields == b"{}" else b'", ' + fields[1:]))
    return head[:-2] + b", ".join(items) + b"]}"


def answer_bytes(rep: Representation, n: int, shape: tuple[int, int, int]) -> int:
    """Pixel bytes a grid or raw-tensor answer holds for n images of (C, H, W); 0 for the other answers.

    Checked against GANSERVE_MAX_ANSWER_BYTES before anything is queued: it is what the encoder must hold in
    memory, and an upper bound on a raw answer's size (a grid's compressed size is not known in advance).
    """
    c, h, w = shape
    if rep.json or (rep.format is not Format.npy and n == 1):
        return 0
    if rep.format is Format.npy:
        return n * c * h * w
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    return (rows * (h + GRID_PAD) + GRID_PAD) * (cols * (w + GRID_PAD) + GRID_PAD) * c


def check_answer_size(rep: Representation, n: int, shape: tuple[int, int, int], limit: int) -> None:
    """PayloadTooLarge (413) when a grid or raw answer would exceed `limit` bytes; says how to get under it."""
    size = answer_bytes(rep, n, shape)
    if size > limit:
        what = "raw tensor" if rep.format is Format.npy else f"{rep.format.value} grid"
        raise PayloadTooLarge(
            f"a {what} of {n} images of {shape[2]}x{shape[1]}x{shape[0]} holds {size} bytes; "
            f"this server's limit is {limit} (GANSERVE_MAX_ANSWER_BYTES): ask for fewer images "
            "or for JSON"
        )
