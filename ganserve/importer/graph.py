"""What an ONNX file says about itself: inputs, outputs, opset, and the activation that bounds each output.

    graph = read_graph(Path("generator.onnx"))     # ImportRefused if it is not a loadable ONNX model
    graph.inputs[0]   -> Tensor(name="z", dtype="float32", shape=["batch", 100, 1, 1])
    graph.ranges["image"] -> ((-1.0, 1.0), "Tanh")   # the final activation, seen through reshapes

Tensors and shapes come from onnxruntime (the session the service will build), the node graph from `onnx`,
which onnxruntime does not expose. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from ganserve.importer.errors import ImportRefused
from service.runtime import RuntimeLoadError, create_session

Dim = int | str | None
Range = tuple[float, float]

_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64", "tensor(int32)": "int32"}
# Ops that move values around without changing them: the range of their input is the range of their output.
_SHAPE_ONLY = {
    "Reshape",
    "Transpose",
    "Identity",
    "Squeeze",
    "Unsqueeze",
    "Flatten",
    "DepthToSpace",
    "SpaceToDepth",
    "Slice",
    "Concat",
    "Split",
    "Cast",
}
_BOUNDED = {"Tanh": (-1.0, 1.0), "Sigmoid": (0.0, 1.0), "HardSigmoid": (0.0, 1.0)}


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str  # float32 | float16 | int64 | int32 | the onnxruntime type when unsupported
    shape: list[Dim]

    @property
    def supported(self) -> bool:
        return self.dtype in _DTYPES.values()


@dataclass
class Graph:
    inputs: list[Tensor]
    outputs: list[Tensor]
    opset: int
    producer: str
    session: ort.InferenceSession
    data: bytes  # the file, as read (hashed into the manifest and copied into the repository)
    ranges: dict[str, tuple[Range, str]] = field(default_factory=dict)  # output name -> (range, op that bounds it)


def _tensor(arg: ort.NodeArg) -> Tensor:
    return Tensor(arg.name, _DTYPES.get(arg.type, arg.type), list(arg.shape))


def read_graph(path: Path) -> Graph:
    """Load `path` with onnx (graph) and onnxruntime (session, CPU); refuse anything that is not a usable model."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportRefused(f"cannot read {path}: {e.strerror or e}") from None
    try:
        model = onnx.load_from_string(data)
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError, onnx's ValidationError, ...: the file is not a model
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ImportRefused(f"{path} is not a valid ONNX model ({first})") from None
    if not model.graph.node or not model.graph.output:
        raise ImportRefused(f"{path} is not a valid ONNX model (its graph is empty)")
    try:
        session = create_session(data, "cpu")
    except RuntimeLoadError as e:
        raise ImportRefused(f"{path}: {e}") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = f"{model.producer_name} {model.producer_version}".strip()
    graph = Graph(
        [_tensor(a) for a in session.get_inputs()],
        [_tensor(a) for a in session.get_outputs()],
        opset,
        producer,
        session,
        data,
    )
    for out in graph.outputs:
        bound = final_range(model.graph, out.name)
        if bound is not None:
            graph.ranges[out.name] = bound
    return graph


def final_range(graph: onnx.GraphProto, output: str) -> tuple[Range, str] | None:
    """The range fixed by the last value-changing op before `output` (Tanh, Sigmoid, Clip), if there is one."""
    producers = {o: n for n in graph.node for o in n.output}
    name = output
    for _ in range(len(graph.node)):
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type in _BOUNDED:
            return _BOUNDED[node.op_type], node.op_type
        if node.op_type == "Clip":
            bounds = _clip_bounds(graph, node, producers)
            return (bounds, "Clip") if bounds is not None else None
        if node.op_type not in _SHAPE_ONLY or not node.input:
            return None
        if node.op_type == "Concat":  # every part must carry the same bound
            parts = {final_range(graph, i) for i in node.input}
            return parts.pop() if len(parts) == 1 else None
        name = node.input[0]
    return None


def _clip_bounds(graph: onnx.GraphProto, node: onnx.NodeProto, producers: dict[str, onnx.NodeProto]) -> Range | None:
    attrs = {a.name: a.f for a in node.attribute}
    if "min" in attrs and "max" in attrs:  # opset < 11
        return float(attrs["min"]), float(attrs["max"])
    if len(node.input) < 3 or not node.input[1] or not node.input[2]:
        return None
    lo, hi = _constant(graph, node.input[1], producers), _constant(graph, node.input[2], producers)
    return (lo, hi) if lo is not None and hi is not None else None


def _constant(graph: onnx.GraphProto, name: str, producers: dict[str, onnx.NodeProto]) -> float | None:
    for init in graph.initializer:
        if init.name == name:
            return float(np.asarray(numpy_helper.to_array(init)).reshape(-1)[0])
    node = producers.get(name)
    if node is not None and node.op_type == "Constant":
        for attr in node.attribute:
            if attr.name == "value":
                return float(np.asarray(numpy_helper.to_array(attr.t)).reshape(-1)[0])
    return None
