"""Just enough of the ONNX file format to read a graph's nodes, constants, opset and producer.

    model = parse_model(Path("generator.onnx").read_bytes())     # ValueError if it is not an ONNX model
    model.opset, model.producer, [n.op_type for n in model.nodes], model.constant("clip_max")

`ganserve import` needs the node graph (to see a final Tanh or Sigmoid), which onnxruntime does not expose; the
`onnx` package would, but the serving install does not carry it (it is a training/export dependency, ~30 MB), so
this reads the protobuf wire format directly: https://protobuf.dev/programming-guides/encoding/ with the field
numbers of onnx/onnx.proto. Unknown fields are skipped, as any protobuf reader does; large tensors are never
decoded (an initializer's data is read only when asked for, and only its first value).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

# wire types
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
# TensorProto.data_type -> struct format of one element
_ELEMENT = {1: "<f", 6: "<i", 7: "<q", 11: "<d"}  # FLOAT, INT32, INT64, DOUBLE
_REPEATED_FIELD = {1: 4, 6: 5, 7: 7, 11: 10}  # data_type -> the TensorProto field holding typed values


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or malformed varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of one message: an int, or the bytes of a length-delimited field."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
            if pos + size > len(buf):
                raise ValueError("truncated fixed-size field")
            yield number, wire, int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("a field runs past the end of its message")
            yield number, wire, buf[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise ValueError("expected a string field")
    return bytes(value).decode("utf-8", errors="replace")


def _msg(value: int | memoryview) -> memoryview:
    if not isinstance(value, memoryview):
        raise ValueError("expected a message field")
    return value


@dataclass
class Tensor:
    """A constant: its element type and the raw message, decoded only on demand."""

    data_type: int = 0
    raw: memoryview | None = None
    message: memoryview | None = None

    def first(self) -> float | None:
        """The first element as a float (enough for scalar bounds such as Clip's min and max)."""
        fmt = _ELEMENT.get(self.data_type)
        if fmt is None:
            return None
        size = struct.calcsize(fmt)
        if self.raw is not None and len(self.raw) >= size:
            return float(struct.unpack(fmt, self.raw[:size])[0])
        for number, wire, value in fields(self.message or memoryview(b"")):
            if number != _REPEATED_FIELD[self.data_type]:
                continue
            if wire == _LEN:  # packed
                packed = _msg(value)
                if fmt in ("<f", "<d"):
                    return float(struct.unpack(fmt, packed[:size])[0]) if len(packed) >= size else None
                return float(_signed(_varint(packed, 0)[0]))
            if wire == _I32:
                return float(struct.unpack("<f", int(value).to_bytes(4, "little"))[0])
            if wire == _I64:
                return float(struct.unpack("<d", int(value).to_bytes(8, "little"))[0])
            return float(_signed(int(value)))
        return None


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def parse_tensor(buf: memoryview) -> tuple[str, Tensor]:
    name, tensor = "", Tensor(message=buf)
    for number, _, value in fields(buf):
        if number == 8:
            name = _text(value)
        elif number == 2:
            tensor.data_type = int(value) if not isinstance(value, memoryview) else 0
        elif number == 9:
            tensor.raw = _msg(value)
    return name, tensor


@dataclass
class Node:
    op_type: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    floats: dict[str, float] = field(default_factory=dict)  # float attributes (e.g. Clip's min/max before opset 11)
    tensors: dict[str, Tensor] = field(default_factory=dict)  # tensor attributes (e.g. Constant's value)


def parse_node(buf: memoryview) -> Node:
    node = Node()
    for number, _, value in fields(buf):
        if number == 1:
            node.inputs.append(_text(value))
        elif number == 2:
            node.outputs.append(_text(value))
        elif number == 4:
            node.op_type = _text(value)
        elif number == 5:
            name, f, t = "", None, None
            for a_number, _, a_value in fields(_msg(value)):
                if a_number == 1:
                    name = _text(a_value)
                elif a_number == 2 and not isinstance(a_value, memoryview):
                    f = struct.unpack("<f", a_value.to_bytes(4, "little"))[0]
                elif a_number == 5:
                    t = parse_tensor(_msg(a_value))[1]
            if f is not None:
                node.floats[name] = float(f)
            if t is not None:
                node.tensors[name] = t
    return node


@dataclass
class Model:
    opset: int = 0
    producer: str = ""
    nodes: list[Node] = field(default_factory=list)
    initializers: dict[str, Tensor] = field(default_factory=dict)
    outputs: int = 0  # how many graph outputs are declared

    def constant(self, name: str) -> float | None:
        """The first value of an initializer or a Constant node's output named `name`."""
        if name in self.initializers:
            return self.initializers[name].first()
        for node in self.nodes:
            if node.op_type == "Constant" and name in node.outputs and "value" in node.tensors:
                return node.tensors["value"].first()
        return None


def parse_model(data: bytes) -> Model:
    """Nodes, initializers, default-domain opset and producer of an ONNX ModelProto; ValueError if it is not one."""
    model, name, version, graph = Model(), "", "", None
    for number, _, value in fields(memoryview(data)):
        if number == 2:
            name = _text(value)
        elif number == 3:
            version = _text(value)
        elif number == 7:
            graph = _msg(value)
        elif number == 8:
            domain, opset = "", 0
            for o_number, _, o_value in fields(_msg(value)):
                if o_number == 1:
                    domain = _text(o_value)
                elif o_number == 2 and not isinstance(o_value, memoryview):
                    opset = o_value
            if domain in ("", "ai.onnx"):
                model.opset = opset
    if graph is None:
        raise ValueError("no graph")
    for number, _, value in fields(graph):
        if number == 1:
            model.nodes.append(parse_node(_msg(value)))
        elif number == 5:
            init_name, tensor = parse_tensor(_msg(value))
            model.initializers[init_name] = tensor
        elif number == 12:
            model.outputs += 1
    model.producer = f"{name} {version}".strip()
    return model
