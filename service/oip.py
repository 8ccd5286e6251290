"""The Open Inference Protocol (KServe v2) without a transport: input tensors in, batcher feeds out, output rows
back as one tensor. The REST routes (routes/v2.py: JSON or binary tensors) and the gRPC servicer (rpc/servicer.py)
both go through here, so the two surfaces validate alike and answer bit for bit alike.

    tensors = [Tensor("z", "FP32", [2, 64], raw=body[0:512])]      # or values=[...]: JSON data, typed contents
    feeds = to_feeds(model, tensors, max_rows=256)                # InvalidRequest / MalformedRequest say what
    rows = await model.batcher.run(feeds, None, timeout)
    image = output_array(rows)                                    # (N, C, H, W) float32

Tensors must match the manifest exactly (names, datatypes, fixed dimensions), binary data must be exactly
shape x datatype size bytes, values must be finite and class labels in range, so one client's bad tensor can never
break a batch it would share with others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service.errors import InvalidRequest, MalformedRequest
from service.manifest import Role, TensorSpec
from service.registry import Registry, ServedModel

SERVER_NAME, SERVER_VERSION = "ganserve", "0.1.0"
EXTENSIONS = ["binary_tensor_data"]
PLATFORM = "onnxruntime_onnx"
DATATYPES = {"float32": "FP32", "float16": "FP16", "int64": "INT64", "int32": "INT32"}  # manifest dtype -> v2
OUTPUT_DATATYPE = "FP32"


@dataclass(slots=True)
class Tensor:
    """One input tensor as a client sent it: `values` (JSON data, gRPC typed contents) or `raw` (little-endian,
    row-major bytes: the binary extension, gRPC raw_input_contents)."""

    name: str
    datatype: str
    shape: list[int]
    values: Any = None
    raw: bytes | memoryview | None = None


def dims(spec: TensorSpec) -> list[int]:
    """The spec's shape in v2 terms: -1 for a dynamic dimension, and for the batch dimension even where the graph
    takes a fixed batch of one (the batcher batches)."""
    return [-1] + [d if isinstance(d, int) else -1 for d in spec.shape[1:]]


def metadata(model: ServedModel, registry: Registry) -> dict[str, Any]:
    """Model metadata: name, versions, platform, and each tensor's name, datatype and shape (-1 = any size)."""
    m = model.manifest
    tensors = [*m.inputs.values(), m.outputs["image"]]
    described = [{"name": s.name, "datatype": DATATYPES[s.dtype], "shape": dims(s)} for s in tensors]
    return {
        "name": m.name,
        "versions": registry.versions(m.name),
        "platform": PLATFORM,
        "inputs": described[:-1],
        "outputs": described[-1:],
    }


def output_name(model: ServedModel) -> str:
    return model.manifest.outputs["image"].name


def check_outputs(model: ServedModel, requested: list[str]) -> None:
    """Refuse outputs the model does not have (an empty list asks for every output)."""
    name = output_name(model)
    for wanted in requested:
        if wanted != name:
            raise InvalidRequest(f"unknown output {wanted!r}; the model has {[name]}")


def timeout_ms(parameters: dict[str, Any]) -> int | None:
    """The request's own deadline from the protocol's `timeout` parameter (microseconds, as Triton reads it)."""
    value = parameters.get("timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"parameter 'timeout' must be a whole number of microseconds, got {value!r}")
    return max(1, value // 1000)


def to_feeds(model: ServedModel, tensors: list[Tensor], max_rows: int) -> dict[str, np.ndarray]:
    """Validate input tensors against the manifest and turn them into feeds; the error says which tensor and why."""
    m = model.manifest
    specs = {spec.name: (role, spec) for role, spec in m.inputs.items()}
    given = [t.name for t in tensors]
    if sorted(given) != sorted(specs):
        raise InvalidRequest(f"inputs are {given}; model {m.name!r} takes exactly {sorted(specs)}")
    feeds: dict[str, np.ndarray] = {}
    for tensor in tensors:
        role, spec = specs[tensor.name]
        _check_header(tensor, spec, max_rows)
        array = _decode_raw(tensor, spec) if tensor.raw is not None else _decode_values(tensor, spec)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InvalidRequest(
                f"input {tensor.name!r} holds NaN or infinite values (or values too large for {tensor.datatype})"
            )
        if (
            role is Role.label
            and array.dtype.kind == "i"
            and (  # indices; a one-hot label is a float tensor
                array.min() < 0 or array.max() >= (m.num_classes or 0)
            )
        ):
            raise InvalidRequest(f"input {tensor.name!r}: class indices must be in 0..{(m.num_classes or 0) - 1}")
        feeds[tensor.name] = array
    if len({a.shape[0] for a in feeds.values()}) != 1:
        raise InvalidRequest("every input must have the same batch size (first dimension)")
    return feeds


def _check_header(tensor: Tensor, spec: TensorSpec, max_rows: int) -> None:
    want = DATATYPES[spec.dtype]
    if tensor.datatype != want:
        raise InvalidRequest(f"input {tensor.name!r} has datatype {tensor.datatype}; the model takes {want}")
    shape = tensor.shape
    if (
        len(shape) != len(spec.shape)
        or any(d < 1 for d in shape)
        or any(isinstance(w, int) and d != w for d, w in zip(shape[1:], spec.shape[1:], strict=True))
    ):
        raise InvalidRequest(f"input {tensor.name!r} has shape {shape}; the model takes {dims(spec)}")
    if shape[0] > max_rows:
        raise InvalidRequest(f"input {tensor.name!r} has {shape[0]} rows; the limit is {max_rows}")


def _decode_raw(tensor: Tensor, spec: TensorSpec) -> np.ndarray:
    assert tensor.raw is not None
    wire = np.dtype(spec.dtype).newbyteorder("<")
    want = int(np.prod(tensor.shape)) * wire.itemsize
    if len(tensor.raw) != want:
        raise MalformedRequest(
            f"input {tensor.name!r}: shape {tensor.shape} of {tensor.datatype} is {want} bytes; "
            f"its binary data is {len(tensor.raw)} bytes"
        )
    # astype copies: an aligned, native-order array that does not pin the request body
    return np.frombuffer(tensor.raw, wire).astype(spec.dtype).reshape(tensor.shape)


def _decode_values(tensor: Tensor, spec: TensorSpec) -> np.ndarray:
    want = DATATYPES[spec.dtype]
    if tensor.values is None:
        raise MalformedRequest(
            f"input {tensor.name!r} has no data: send 'data', or binary data with its 'binary_data_size' parameter"
        )
    try:
        raw = np.asarray(tensor.values)
    except ValueError:
        raise InvalidRequest(f"input {tensor.name!r}: data must be a flat or nested list of numbers") from None
    integers = want in ("INT64", "INT32")
    if raw.dtype.kind not in ("i", "u", "f") or (integers and raw.dtype.kind == "f"):
        kind = "integers" if integers else "numbers"
        raise InvalidRequest(f"input {tensor.name!r}: data must hold {kind}")
    count = int(np.prod(tensor.shape))
    if raw.size != count:
        raise InvalidRequest(f"input {tensor.name!r}: shape {tensor.shape} needs {count} values, data has {raw.size}")
    if integers and raw.size and not (np.iinfo(spec.dtype).min <= raw.min() and raw.max() <= np.iinfo(spec.dtype).max):
        raise InvalidRequest(f"input {tensor.name!r}: values out of the {want} range")  # a cast would wrap them
    return raw.astype(spec.dtype).reshape(tensor.shape)


def output_array(rows: list[np.ndarray]) -> np.ndarray:
    """A request's output rows as the one output tensor, in the protocol's datatype."""
    return np.stack(rows).astype(np.float32, copy=False)


def raw_bytes(array: np.ndarray) -> bytes:
    """A tensor as the protocol's raw bytes: row-major, little-endian, no padding."""
    return np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()
