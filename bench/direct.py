"""The engine ceiling: onnxruntime called directly in this process, no HTTP, no batcher, no encoding.

The session is fed noise shaped from the manifest, so the only difference from the service is everything the service
adds around `session.run`. It is measured with onnxruntime's defaults (one thread per core, spinning on), with the
service's session options (spinning off unless GANSERVE_INTRA_OP_SPINNING), and with every GANSERVE_INTRA_OP_THREADS a
configuration sets; the targets compare against the best of them, so tuning the service can never lower the ceiling
it is judged against.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from bench.config import BenchConfig
from service.manifest import Role, load_manifest


def measure_direct(
    version_dir: Path,
    batch_sizes: list[int],
    seconds: float,
    intra_op_threads: int = 0,
    provider: str = "cpu",
    spinning: bool = True,
) -> list[dict[str, Any]]:
    """Per batch size: calls/s, images/s and per-call latency percentiles (ms) over `seconds` of back-to-back runs.

    `intra_op_threads` 0 is onnxruntime's default; `provider` "cuda" puts the session on the GPU (as the service
    does with GANSERVE_PROVIDER=cuda), anything else on the CPU. `spinning` True is onnxruntime's default; the
    service turns it off unless GANSERVE_INTRA_OP_SPINNING is set.
    """
    manifest = load_manifest(version_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if provider == "cuda" else ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(version_dir / manifest.onnx_file), options, providers=providers)
    noise = manifest.inputs[Role.noise]
    rng = np.random.default_rng(0)
    rows = []
    for batch in batch_sizes:
        feed: dict[str, np.ndarray] = {noise.name: rng.standard_normal((batch, manifest.latent_dim or 0), np.float32)}
        if Role.label in manifest.inputs:
            feed[manifest.inputs[Role.label].name] = np.zeros(batch, np.int64)
        for _ in range(10):  # warm-up: first calls allocate and pick kernels
            session.run(None, feed)
        times: list[float] = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 5:
            t0 = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        ms = np.array(times) * 1e3
        rows.append({
            "batch": batch,
            "threads": intra_op_threads,
            "spinning": spinning,
            "provider": session.get_providers()[0],
            "calls": len(times),
            "calls_per_s": len(times) / elapsed,
            "images_per_s": len(times) * batch / elapsed,
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
        })  # fmt: skip
    return rows


def ceiling(cfg: BenchConfig, batches: list[int], seconds: float, when: str) -> list[dict[str, Any]]:
    """`measure_direct` for every session variant the run compares against, each row tagged with `when`."""
    rows: list[dict[str, Any]] = []
    for threads, spinning in cfg.direct_variants():
        for r in measure_direct(cfg.models_dir / cfg.model / cfg.version, batches, seconds, threads,
                                cfg.settings.get("GANSERVE_PROVIDER", "cpu"), spinning):  # fmt: skip
            rows.append(r | {"when": when})
    return rows
