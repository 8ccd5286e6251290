"""ganserve/importer/proto.py against the onnx package's own reader, and graph.final_range on its output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganserve.importer.graph import final_range
from ganserve.importer.proto import parse_model
from tests.support.foreign import FOREIGN, export
from tests.support.models import dcgan_generator, tiny_generator


def clip_model(opset: int, bounds: str) -> onnx.ModelProto:
    """x (B, 4) -> Clip(-0.5, 2.0) -> Reshape -> (B, 1, 2, 2); bounds as attributes, initializers or Constants."""
    init = [numpy_helper.from_array(np.array([-1, 1, 2, 2], np.int64), "shape")]
    nodes = []
    if bounds == "attributes":
        nodes.append(helper.make_node("Clip", ["x"], ["c"], min=-0.5, max=2.0))
    else:
        if bounds == "initializers":
            init += [
                numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
                numpy_helper.from_array(np.array(2.0, np.float32), "hi"),
            ]
        else:
            nodes += [
                helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(-0.5, np.float32))),
                helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.array(2.0, np.float32))),
            ]
        nodes.append(helper.make_node("Clip", ["x", "lo", "hi"], ["c"]))
    nodes.append(helper.make_node("Reshape", ["c", "shape"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 1, 2, 2])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="clip-test")
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("model", [tiny_generator(num_classes=3), dcgan_generator()], ids=["tiny", "dcgan"])
def test_matches_the_onnx_package(model: onnx.ModelProto) -> None:
    parsed = parse_model(model.SerializeToString())
    assert [n.op_type for n in parsed.nodes] == [n.op_type for n in model.graph.node]
    assert [n.inputs for n in parsed.nodes] == [list(n.input) for n in model.graph.node]
    assert [n.outputs for n in parsed.nodes] == [list(n.output) for n in model.graph.node]
    assert parsed.opset == 18 and parsed.producer == "tests" and parsed.outputs == 1
    for init in model.graph.initializer:
        assert parsed.constant(init.name) == pytest.approx(float(numpy_helper.to_array(init).reshape(-1)[0]))


def test_a_torch_export(tmp_path: Path) -> None:
    path = export("dcgan4d", tmp_path)
    parsed, model = parse_model(path.read_bytes()), onnx.load(str(path))
    assert [n.op_type for n in parsed.nodes] == [n.op_type for n in model.graph.node]
    assert parsed.opset == 17 and parsed.producer.startswith("pytorch")
    assert final_range(parsed, "image") == ((-1.0, 1.0), "Tanh")
    assert FOREIGN["dcgan4d"].flags == ()


@pytest.mark.parametrize(("opset", "bounds"), [(9, "attributes"), (17, "initializers"), (17, "constants")])
def test_clip_bounds_seen_through_a_reshape(opset: int, bounds: str) -> None:
    parsed = parse_model(clip_model(opset, bounds).SerializeToString())
    assert final_range(parsed, "y") == ((-0.5, 2.0), "Clip")


def test_an_op_that_changes_values_hides_the_range() -> None:
    model = tiny_generator()
    assert [n.op_type for n in model.graph.node][-2:] == ["Tanh", "Reshape"]
    model.graph.node[-2].op_type = "Relu"  # unbounded, seen through the Reshape
    assert final_range(parse_model(model.SerializeToString()), "image") is None


@pytest.mark.parametrize("junk", [b"", b"\x00\x01\x02", b"PK\x03\x04" * 50, bytes(range(256)) * 4])
def test_junk_is_refused(junk: bytes) -> None:
    with pytest.raises(ValueError):
        parse_model(junk)
