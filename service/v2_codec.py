"""Open Inference Protocol REST bodies, both ways: JSON tensors and the binary tensor data extension (as Triton
documents it), mixed freely within one request. Pure functions of bytes: the route runs them in a worker thread.

A binary request is the JSON header followed by the raw bytes of every binary input, in input order::

    Inference-Header-Content-Length: 151
    {"inputs": [{"name": "z", "shape": [2, 64], "datatype": "FP32", "parameters": {"binary_data_size": 512}},
                {"name": "label", "shape": [2], "datatype": "INT64", "data": [3, 7]}],
     "parameters": {"binary_data_output": true}}<512 bytes of z>

Outputs come back binary when the request asks (`binary_data_output`, or `"binary_data": true` on an output), the
same way: the header names each binary output's `binary_data_size` and the bytes follow. Framing errors (a header
length past the end of the body, a tensor whose bytes run short or overrun, a size that disagrees with its shape)
are 400s that name the tensor.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from service.errors import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from service.http import parse_json
from service.oip import OUTPUT_DATATYPE, Tensor, raw_bytes, timeout_ms

HEADER_LENGTH = "inference-header-content-length"
BINARY_MEDIA_TYPE = "application/octet-stream"


class InferInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


@dataclass(slots=True)
class ParsedRequest:
    id: str | None
    tensors: list[Tensor]
    outputs: list[str]  # requested output names; empty: every output
    binary_outputs: dict[str, bool]  # output name -> answer in binary; missing: `binary_default`
    binary_default: bool
    deadline_ms: int | None


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip or deflate, as tritonclient can send), at most `limit` bytes."""
    if encoding is None or encoding.strip().lower() in ("", "identity"):
        return body
    wbits = {"gzip": 31, "deflate": 15}.get(encoding.strip().lower())
    if wbits is None:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none")
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise MalformedRequest(f"the body is not valid {encoding} data: {e}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the decompressed body is over the {limit}-byte limit")
    return out


def parse_request(body: bytes, header_length: str | None) -> ParsedRequest:
    """A v2 infer body (JSON, or JSON header + binary tensors) as tensors, requested outputs and deadline."""
    if header_length is None:
        try:
            request = parse_json(body, InferRequest)
        except MalformedRequest as e:
            raise MalformedRequest(
                f"{e.message} (a body with binary tensors needs the Inference-Header-Content-Length header)"
            ) from None
        binary = memoryview(b"")
    else:
        text = header_length.strip()
        if not text.isdigit():
            raise MalformedRequest(
                f"Inference-Header-Content-Length must be the JSON header's size in bytes, got {header_length!r}"
            )
        size = int(text)
        if size > len(body):
            raise MalformedRequest(f"Inference-Header-Content-Length is {size} but the body has only {len(body)} bytes")
        request = parse_json(body[:size], InferRequest)
        binary = memoryview(body)[size:]
    parameters = request.parameters or {}
    binary_outputs: dict[str, bool] = {}
    for output in request.outputs or []:
        params = output.parameters or {}
        if "classification" in params:
            raise InvalidRequest(f"output {output.name!r}: the classification extension is not supported")
        if "binary_data" in params:
            binary_outputs[output.name] = _flag(params["binary_data"], f"output {output.name!r}: binary_data")
    return ParsedRequest(
        id=request.id,
        tensors=_tensors(request.inputs, binary),
        outputs=[o.name for o in request.outputs or []],
        binary_outputs=binary_outputs,
        deadline_ms=timeout_ms(parameters),
        binary_default=_flag(parameters.get("binary_data_output", False), "parameter binary_data_output"),
    )


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"{what} must be true or false, got {value!r}")
    return value


def _tensors(inputs: list[InferInput], binary: memoryview) -> list[Tensor]:
    """Each input with its JSON data, or with its `binary_data_size` bytes cut from `binary` in input order."""
    tensors, offset = [], 0
    for t in inputs:
        size = (t.parameters or {}).get("binary_data_size")
        if size is None:
            if t.data is None:
                raise MalformedRequest(
                    f"input {t.name!r} has no data: send 'data', or binary data with its 'binary_data_size' parameter"
                )
            tensors.append(Tensor(t.name, t.datatype, t.shape, values=t.data))
            continue
        if t.data is not None:
            raise MalformedRequest(f"input {t.name!r} has both 'data' and a binary_data_size parameter; send one")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise MalformedRequest(f"input {t.name!r}: binary_data_size must be a byte count, got {size!r}")
        if offset + size > len(binary):
            hint = "" if len(binary) else " (binary tensors need the Inference-Header-Content-Length header)"
            raise MalformedRequest(
                f"input {t.name!r}: its {size} bytes of binary data run past the end of the body, "
                f"which has {len(binary) - offset} bytes left for it{hint}"
            )
        tensors.append(Tensor(t.name, t.datatype, t.shape, raw=binary[offset : offset + size]))
        offset += size
    if offset != len(binary):
        raise MalformedRequest(
            f"the body has {len(binary) - offset} bytes after the last binary tensor; each "
            "input's binary_data_size must account for its bytes exactly"
        )
    return tensors


def _json_numbers(array: np.ndarray, chunk: int = 1024) -> str:
    """The values as json.dumps writes a list of them, encoded `chunk` at a time: one json.dumps over 200k floats
    holds the GIL for ~300 ms, stalling the event loop although it runs in a worker thread; a chunk takes ~2 ms."""
    values = array.ravel().tolist()
    return ", ".join(json.dumps(values[i : i + chunk])[1:-1] for i in range(0, len(values), chunk))


def encode_response(
    model_name: str, model_version: str, request_id: str | None, output: str, array: np.ndarray, binary: bool
) -> tuple[bytes, dict[str, str]]:
    """The answer's body and headers: JSON data, or a JSON header followed by the tensor's raw bytes."""
    payload: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        payload["id"] = request_id
    tensor: dict[str, Any] = {"name": output, "datatype": OUTPUT_DATATYPE, "shape": list(array.shape)}
    if not binary:
        tensor["data"] = "DATA"
        payload["outputs"] = [tensor]
        head, _, tail = json.dumps(payload).rpartition('"DATA"')  # "data" is the last value: rpartition finds it
        return f"{head}[{_json_numbers(array)}]{tail}".encode(), {"content-type": "application/json"}
    data = raw_bytes(array)
    tensor["parameters"] = {"binary_data_size": len(data)}
    payload["outputs"] = [tensor]
    header = json.dumps(payload).encode()
    return header + data, {"content-type": BINARY_MEDIA_TYPE, HEADER_LENGTH: str(len(header))}
