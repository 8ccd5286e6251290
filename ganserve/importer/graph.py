"""What an ONNX file says about itself: inputs, outputs, opset, and the activation that bounds each output.

    graph = read_graph(Path("generator.onnx"))     # ImportRefused if it is not a loadable ONNX model
    graph.inputs[0]   -> Tensor(name="z", dtype="float32", shape=["batch", 100, 1, 1])
    graph.ranges["image"] -> ((-1.0, 1.0), "Tanh")   # the final activation, seen through reshapes

Tensors and shapes come from onnxruntime (the session the service will build), the node graph from proto.py
(onnxruntime does not expose nodes; the `onnx` package is not part of the serving install). No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort

from ganserve.importer.errors import ImportRefused
from ganserve.importer.proto import Model, Node, parse_model
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
    """Parse `path` (nodes) and load it in onnxruntime (session, CPU); refuse anything that is not a usable model."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportRefused(f"cannot read {path}: {e.strerror or e}") from None
    try:
        model = parse_model(data)
    except ValueError as e:
        raise ImportRefused(f"{path} is not a valid ONNX model ({e})") from None
    if not model.nodes or not model.outputs:
        raise ImportRefused(f"{path} is not a valid ONNX model (its graph is empty)")
    try:
        session = create_session(data, "cpu")
    except RuntimeLoadError as e:
        raise ImportRefused(f"{path} is not a valid ONNX model: {e}") from None
    graph = Graph(
        [_tensor(a) for a in session.get_inputs()],
        [_tensor(a) for a in session.get_outputs()],
        model.opset,
        model.producer,
        session,
        data,
    )
    for out in graph.outputs:
        bound = final_range(model, out.name)
        if bound is not None:
            graph.ranges[out.name] = bound
    return graph


def final_range(model: Model, output: str) -> tuple[Range, str] | None:
    """The range fixed by the last value-changing op before `output` (Tanh, Sigmoid, Clip), if there is one."""
    producers = {o: n for n in model.nodes for o in n.outputs}
    name = output
    for _ in range(len(model.nodes)):
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type in _BOUNDED:
            return _BOUNDED[node.op_type], node.op_type
        if node.op_type == "Clip":
            bounds = _clip_bounds(model, node)
            return (bounds, "Clip") if bounds is not None else None
        if node.op_type not in _SHAPE_ONLY or not node.inputs:
            return None
        if node.op_type == "Concat":  # every part must carry the same bound
            parts = {final_range(model, i) for i in node.inputs}
            return parts.pop() if len(parts) == 1 else None
        name = node.inputs[0]
    return None


def _clip_bounds(model: Model, node: Node) -> Range | None:
    if "min" in node.floats and "max" in node.floats:  # opset < 11: attributes
        return node.floats["min"], node.floats["max"]
    if len(node.inputs) < 3 or not node.inputs[1] or not node.inputs[2]:
        return None
    lo, hi = model.constant(node.inputs[1]), model.constant(node.inputs[2])
    return (lo, hi) if lo is not None and hi is not None else None
