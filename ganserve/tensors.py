"""numpy arrays <-> Open Inference Protocol (KServe v2) tensors: JSON, or the binary tensor data extension.

body, header_length = encode_binary({"z": z})        # JSON header + raw little-endian bytes
outputs = decode_response(content, header_length)    # {"image": array}, whatever mix the server answered
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

# v2 datatype name -> numpy dtype
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "INT8": np.dtype(np.int8),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}
_NAMES = {dtype: name for name, dtype in DATATYPES.items()}
HEADER_LENGTH = "Inference-Header-Content-Length"


def _datatype(name: str, array: np.ndarray) -> str:
    if array.dtype not in _NAMES:
        raise ValueError(
            f"tensor {name!r}: dtype {array.dtype} has no v2 datatype; use one of {sorted(str(d) for d in _NAMES)}"
        )
    return _NAMES[array.dtype]


def encode(name: str, array: np.ndarray) -> dict[str, Any]:
    """One input tensor as v2 JSON: name, shape, datatype and the data flattened in row-major order."""
    array = np.asarray(array)
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": _datatype(name, array),
        "data": array.ravel().tolist(),
    }


def encode_binary(inputs: Mapping[str, np.ndarray], outputs: list[str] | None = None) -> tuple[bytes, int]:
    """A v2 request with every input as binary data, asking for binary outputs: (body, JSON header length)."""
    tensors, chunks = [], []
    for name, value in inputs.items():
        array = np.asarray(value)
        raw = np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()
        tensors.append(
            {
                "name": name,
                "shape": list(array.shape),
                "datatype": _datatype(name, array),
                "parameters": {"binary_data_size": len(raw)},
            }
        )
        chunks.append(raw)
    request: dict[str, Any] = {"inputs": tensors, "parameters": {"binary_data_output": True}}
    if outputs:
        request["outputs"] = [{"name": o, "parameters": {"binary_data": True}} for o in outputs]
    header = json.dumps(request).encode()
    return b"".join([header, *chunks]), len(header)


def decode(tensor: dict[str, Any]) -> np.ndarray:
    """One v2 JSON output tensor as a numpy array of its shape and datatype."""
    return np.asarray(tensor["data"], dtype=_dtype(tensor)).reshape(tensor["shape"])


def decode_response(content: bytes, header_length: str | None) -> dict[str, np.ndarray]:
    """Every output of a v2 answer, JSON or binary (`header_length`: its Inference-Header-Content-Length)."""
    size = len(content) if header_length is None else int(header_length)
    offset, outputs = size, {}
    for tensor in json.loads(content[:size])["outputs"]:
        nbytes = (tensor.get("parameters") or {}).get("binary_data_size")
        if nbytes is None:
            outputs[tensor["name"]] = decode(tensor)
            continue
        dtype = _dtype(tensor).newbyteorder("<")
        raw = np.frombuffer(content, dtype, count=nbytes // dtype.itemsize, offset=offset)
        outputs[tensor["name"]] = raw.astype(dtype.newbyteorder("=")).reshape(tensor["shape"])
        offset += nbytes
    return outputs


def _dtype(tensor: dict[str, Any]) -> np.dtype[Any]:
    dtype = DATATYPES.get(tensor["datatype"])
    if dtype is None:
        raise ValueError(f"tensor {tensor.get('name')!r}: unsupported v2 datatype {tensor['datatype']!r}")
    return dtype
