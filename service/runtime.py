"""One onnxruntime session per model version: provider choice, graph check against the manifest, warm-up.

CUDA is used only when it really loads: the driver library must be present before onnxruntime is even asked
(so CPU-only machines see no error spam), and the session must report CUDA first after creation.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from service.adapters import dummy_feeds, output_shape
from service.manifest import Kind, Manifest, TensorSpec

log = logging.getLogger("ganserve.runtime")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
_ORT_TYPES = {
    "float32": "tensor(float)",
    "float16": "tensor(float16)",
    "int64": "tensor(int64)",
    "int32": "tensor(int32)",
}


class RuntimeLoadError(RuntimeError):
    """The model file cannot be served as its manifest describes; the message says why."""


def cuda_driver_present() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def cuda_usable(provider: str) -> bool:
    """Whether sessions will ask for CUDA (GANSERVE_PROVIDER cuda, or auto with a CUDA build and a driver)."""
    return provider != "cpu" and CUDA in ort.get_available_providers() and cuda_driver_present()


def _session_options(intra_op_threads: int, inter_op_threads: int, spinning: bool) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    # Spinning pool threads keep cores busy between batches, taking them from the event loop and encoders.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    options.inter_op_num_threads = inter_op_threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def create_session(
    model: bytes, provider: str, intra_op_threads: int = 0, inter_op_threads: int = 0, spinning: bool = False
) -> ort.InferenceSession:
    """A session on CUDA when asked for ("cuda") or available ("auto") and it really loads, else on CPU."""
    options = _session_options(intra_op_threads, inter_op_threads, spinning)
    want_cuda = cuda_usable(provider)
    if provider == "cuda" and not want_cuda:
        raise RuntimeLoadError("GANSERVE_PROVIDER=cuda, but no CUDA driver / CUDA-enabled onnxruntime was found")
    if want_cuda:
        ort.set_default_logger_severity(4)  # a failed CUDA load is expected on some hosts; we report it ourselves
        try:
            session = ort.InferenceSession(model, options, providers=[CUDA, CPU])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises bare RuntimeError/Fail for provider problems
            session, reason = None, str(e)
        else:
            reason = "onnxruntime fell back to CPU (CUDA libraries missing?)"
        finally:
            ort.set_default_logger_severity(2)
        if session is not None and session.get_providers()[0] == CUDA:
            return session
        if provider == "cuda":
            raise RuntimeLoadError(f"GANSERVE_PROVIDER=cuda, but the CUDA provider did not load: {reason}")
        log.info("CUDA not usable, serving on CPU: %s", reason)
    try:
        return ort.InferenceSession(model, options, providers=[CPU])
    except Exception as e:  # corrupt or unsupported graphs surface as onnxruntime's own exception types
        raise RuntimeLoadError(f"onnxruntime cannot load the model: {e}") from e


def _check_tensor(role: str, spec: TensorSpec, node: ort.NodeArg) -> None:
    if node.type != _ORT_TYPES[spec.dtype]:
        raise RuntimeLoadError(f"{role} tensor {spec.name!r} is {node.type} in the graph, {spec.dtype} in the manifest")
    shape = node.shape
    if len(shape) != len(spec.shape):
        raise RuntimeLoadError(
            f"{role} tensor {spec.name!r} has rank {len(shape)} in the graph, "
            f"{len(spec.shape)} in the manifest ({spec.shape})"
        )
    for got, want in zip(shape[1:], spec.shape[1:], strict=True):
        if isinstance(got, int) and isinstance(want, int) and got != want:
            raise RuntimeLoadError(
                f"{role} tensor {spec.name!r} has shape {shape} in the graph, {spec.shape} in the manifest"
            )


def check_graph(session: ort.InferenceSession, manifest: Manifest) -> None:
    """Raise RuntimeLoadError unless the graph's inputs and image output are the ones the manifest names."""
    graph_inputs = {i.name: i for i in session.get_inputs()}
    want = {spec.name for spec in manifest.inputs.values()}
    if set(graph_inputs) != want:
        raise RuntimeLoadError(f"graph inputs are {sorted(graph_inputs)}, the manifest names {sorted(want)}")
    for role, spec in manifest.inputs.items():
        _check_tensor(f"input {role.value}", spec, graph_inputs[spec.name])
    graph_outputs = {o.name: o for o in session.get_outputs()}
    out = manifest.outputs["image"]
    if out.name not in graph_outputs:
        raise RuntimeLoadError(f"graph outputs are {sorted(graph_outputs)}, the manifest names {out.name!r}")
    _check_tensor("output image", out, graph_outputs[out.name])


class Runtime:
    """The engine behind one batcher: `run(feeds) -> image rows` (blocking; call it from a worker thread)."""

    def __init__(self, session: ort.InferenceSession, manifest: Manifest) -> None:
        self.session = session
        self.manifest = manifest
        self.provider: str = session.get_providers()[0]
        self._output = [manifest.outputs["image"].name]

    @classmethod
    def load(
        cls,
        path: Path,
        manifest: Manifest,
        *,
        provider: str = "auto",
        intra_op_threads: int = 0,
        inter_op_threads: int = 0,
        spinning: bool = False,
    ) -> Runtime:
        session = create_session(path.read_bytes(), provider, intra_op_threads, inter_op_threads, spinning)
        check_graph(session, manifest)
        return cls(session, manifest)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = self.session.run(self._output, feeds)[0]
        return out

    def warm_up(self, batch_sizes: Iterable[int]) -> None:
        """Run every batch size once so the first real requests do not pay for allocation and kernel set-up."""
        for batch in batch_sizes:
            try:
                out = self.run(dummy_feeds(self.manifest, batch))
            except Exception as e:  # onnxruntime's own exception types: the message is what matters
                raise RuntimeLoadError(f"the model fails on dummy input at batch {batch}: {e}") from e
            want = output_shape(self.manifest, batch)
            if out.shape[0] != batch or (self.manifest.kind is not Kind.translation and out.shape != want):
                raise RuntimeLoadError(f"warm-up at batch {batch} returned shape {out.shape}, expected {want}")


def warm_up_sizes(max_batch_size: int) -> list[int]:
    """1, 2, 4, ... up to and including the batch limit."""
    sizes = [1 << i for i in range(max_batch_size.bit_length()) if 1 << i < max_batch_size]
    return [*sizes, max_batch_size]
