"""numpy arrays <-> Open Inference Protocol (KServe v2) JSON tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

# v2 datatype name -> numpy dtype
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_), "UINT8": np.dtype(np.uint8), "INT8": np.dtype(np.int8),
    "INT32": np.dtype(np.int32), "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16), "FP32": np.dtype(np.float32), "FP64": np.dtype(np.float64),
}
_NAMES = {dtype: name for name, dtype in DATATYPES.items()}


def encode(name: str, array: np.ndarray) -> dict[str, Any]:
    """One input tensor as v2 JSON: name, shape, datatype and the data flattened in row-major order."""
    array = np.asarray(array)
    if array.dtype not in _NAMES:
        raise ValueError(f"tensor {name!r}: dtype {array.dtype} has no v2 datatype; use one of "
                         f"{sorted(str(d) for d in _NAMES)}")
    return {"name": name, "shape": list(array.shape), "datatype": _NAMES[array.dtype],
            "data": array.ravel().tolist()}


def decode(tensor: dict[str, Any]) -> np.ndarray:
    """One v2 JSON output tensor as a numpy array of its shape and datatype."""
    dtype = DATATYPES.get(tensor["datatype"])
    if dtype is None:
        raise ValueError(f"tensor {tensor.get('name')!r}: unsupported v2 datatype {tensor['datatype']!r}")
    return np.asarray(tensor["data"], dtype=dtype).reshape(tensor["shape"])
