"""Tiny ONNX generators and translators, built with onnx.helper, written as a model repository.

    from tests.support.models import write_model_repo
    models_dir = write_model_repo(tmp_path / "models")          # gen, cgen, translate (all version "1")
    write_generator(models_dir, "dcgan-bench", dcgan=True)      # a DCGAN-sized generator (~35 MFLOP/image)
    write_generator(models_dir, "slow", slow=256)                # keeps a request in flight (~0.1-0.5 s/image)

Every model is deterministic (weights from a fixed seed) and its manifest carries the real sha256,
so the service loads it exactly as it would a trained export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from service.manifest import ONNX_FILE, Manifest, sha256_file, write_atomic, write_manifest

OPSET = 18
LATENT = 8
SIZE = 8  # tiny models make 1x8x8 images


def _weights(rng: np.random.Generator, shape: tuple[int, ...], name: str, scale: float = 0.3) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def _model(
    nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], init: list[onnx.TensorProto]
) -> onnx.ModelProto:
    out = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, None, None])
    graph = helper.make_graph(nodes, "g", inputs, [out], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def tiny_generator(
    latent: int = LATENT, size: int = SIZE, num_classes: int | None = None, seed: int = 0
) -> onnx.ModelProto:
    """z (B, latent) [+ label (B,) int64] -> tanh(z W + b [+ E[label]]) reshaped to (B, 1, size, size)."""
    rng = np.random.default_rng(seed)
    init = [
        _weights(rng, (latent, size * size), "W"),
        _weights(rng, (size * size,), "b"),
        numpy_helper.from_array(np.array([-1, 1, size, size], np.int64), "shape"),
    ]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["zw"]), helper.make_node("Add", ["zw", "b"], ["h"])]
    last = "h"
    if num_classes is not None:
        init.append(_weights(rng, (num_classes, size * size), "E", scale=1.0))
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
        nodes += [
            helper.make_node("Gather", ["E", "label"], ["e"], axis=0),
            helper.make_node("Add", ["h", "e"], ["he"]),
        ]
        last = "he"
    nodes += [helper.make_node("Tanh", [last], ["t"]), helper.make_node("Reshape", ["t", "shape"], ["image"])]
    return _model(nodes, inputs, init)


def dcgan_generator(latent: int = 64, seed: int = 0) -> onnx.ModelProto:
    """A DCGAN-sized generator: z (B, 64) -> Gemm -> 256x4x4 -> ConvT x3 -> (B, 1, 32, 32), ~35 MFLOP/image."""
    rng = np.random.default_rng(seed)
    init = [
        _weights(rng, (latent, 256 * 16), "W0", 0.05),
        _weights(rng, (256 * 16,), "b0", 0.05),
        numpy_helper.from_array(np.array([-1, 256, 4, 4], np.int64), "s0"),
        _weights(rng, (256, 128, 4, 4), "W1", 0.05),
        _weights(rng, (128, 64, 4, 4), "W2", 0.05),
        _weights(rng, (64, 1, 4, 4), "W3", 0.05),
    ]
    conv = {"kernel_shape": [4, 4], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("MatMul", ["z", "W0"], ["m0"]),
        helper.make_node("Add", ["m0", "b0"], ["a0"]),
        helper.make_node("Relu", ["a0"], ["r0"]),
        helper.make_node("Reshape", ["r0", "s0"], ["x0"]),
        helper.make_node("ConvTranspose", ["x0", "W1"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["x1"]),
        helper.make_node("ConvTranspose", ["x1", "W2"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["x2"]),
        helper.make_node("ConvTranspose", ["x2", "W3"], ["c3"], **conv),
        helper.make_node("Tanh", ["c3"], ["image"]),
    ]
    return _model(nodes, [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent])], init)


def slow_generator(latent: int = LATENT, size: int = SIZE, work: int = 256, seed: int = 0) -> onnx.ModelProto:
    """Like tiny_generator, plus two 3x3 convolutions over a (16, work, work) map per image whose (tiny)
    contribution is added to the output: roughly 0.1-0.5 s per image at work=256 on a laptop-class core.
    For tests that need a request to stay in flight (drain, deadlines, disconnects)."""
    rng = np.random.default_rng(seed)
    base = tiny_generator(latent, size, seed=seed).graph
    init = [
        *base.initializer,
        numpy_helper.from_array(np.array([-1, 1, 1, 1], np.int64), "s1"),
        numpy_helper.from_array(np.array([1, 16, work, work], np.int64), "big"),
        _weights(rng, (16, 16, 3, 3), "K1", 0.1),
        _weights(rng, (16, 16, 3, 3), "K2", 0.1),
        numpy_helper.from_array(np.array([1], np.int64), "ax1"),
        numpy_helper.from_array(np.float32(1e-6), "eps"),
    ]
    stride = work // size
    nodes = [n for n in base.node if n.output[0] != "image"] + [
        helper.make_node("Reshape", ["t", "shape"], ["img0"]),
        helper.make_node("ReduceSum", ["z", "ax1"], ["zs"], keepdims=1),
        helper.make_node("Reshape", ["zs", "s1"], ["z4"]),
        helper.make_node("Expand", ["z4", "big"], ["x"]),
        helper.make_node("Conv", ["x", "K1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c1", "K2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("ReduceMean", ["c2", "ax1"], ["m"], keepdims=1),
        helper.make_node("AveragePool", ["m"], ["p"], kernel_shape=[stride, stride], strides=[stride, stride]),
        helper.make_node("Mul", ["p", "eps"], ["small"]),
        helper.make_node("Add", ["img0", "small"], ["image"]),
    ]
    return _model(nodes, [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent])], init)


def tiny_translator(size: int = SIZE, seed: int = 0) -> onnx.ModelProto:
    """image (B, 1, size, size) -> tanh(conv3x3(image)): shape-preserving, like pix2pix/CycleGAN."""
    rng = np.random.default_rng(seed)
    init = [_weights(rng, (1, 1, 3, 3), "K", 0.5)]
    nodes = [helper.make_node("Conv", ["x", "K"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Tanh", ["c"], ["image"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, size, size])]
    return _model(nodes, inputs, init)


def write_model(models_dir: Path, name: str, model: onnx.ModelProto, version: str = "1", **fields: Any) -> Path:
    """Save `model` as models_dir/name/version/model.onnx with a manifest built from `fields` (+ the real sha256)."""
    version_dir = models_dir / name / version
    write_atomic(version_dir / ONNX_FILE, model.SerializeToString())
    manifest = Manifest.model_validate(
        {"name": name, "version": version, "opset": OPSET, "sha256": sha256_file(version_dir / ONNX_FILE)} | fields
    )
    write_manifest(version_dir, manifest)
    return version_dir


def write_generator(
    models_dir: Path,
    name: str,
    *,
    version: str = "1",
    num_classes: int | None = None,
    dcgan: bool = False,
    slow: int = 0,
    seed: int = 0,
) -> Path:
    """A generator model: tiny (default), DCGAN-sized (`dcgan=True`), or deliberately slow (`slow=<work size>`)."""
    latent, size = (64, 32) if dcgan else (LATENT, SIZE)
    if dcgan:
        model = dcgan_generator(seed=seed)
    elif slow:
        model = slow_generator(work=slow, seed=seed)
    else:
        model = tiny_generator(num_classes=num_classes, seed=seed)
    inputs: dict[str, Any] = {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", latent]}}
    extra: dict[str, Any] = {}
    if num_classes is not None:
        inputs["label"] = {"name": "label", "dtype": "int64", "shape": ["batch"]}
        extra = {"num_classes": num_classes, "class_names": [f"c{i}" for i in range(num_classes)]}
    return write_model(
        models_dir,
        name,
        model,
        version=version,
        kind="conditional" if num_classes is not None else "unconditional",
        description=f"test generator {name}",
        inputs=inputs,
        outputs={"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, size, size]}},
        image={"channels": 1, "height": size, "width": size},
        latent_dim=latent,
        provenance={"family": "test"},
        **extra,
    )


def write_translator(models_dir: Path, name: str, *, version: str = "1") -> Path:
    return write_model(
        models_dir,
        name,
        tiny_translator(),
        version=version,
        kind="translation",
        description=f"test translator {name}",
        inputs={"image": {"name": "x", "dtype": "float32", "shape": ["batch", 1, SIZE, SIZE]}},
        outputs={"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, SIZE, SIZE]}},
        image={"channels": 1, "height": SIZE, "width": SIZE},
        input_image={"channels": 1, "height": SIZE, "width": SIZE},
        provenance={"family": "test"},
    )


def write_model_repo(models_dir: Path) -> Path:
    """The standard test repository: `gen` (unconditional), `cgen` (conditional, classes c0..c9), `translate`."""
    write_generator(models_dir, "gen")
    write_generator(models_dir, "cgen", num_classes=10)
    write_translator(models_dir, "translate")
    return models_dir
