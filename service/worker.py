"""The batcher's worker: the model's inference thread. It only feeds the engine and hands the rows on.

    worker = Worker(runtime.run, metrics, name="dcgan-mnist:1")
    outcomes = await worker.run(parts)      # per part: its output rows, or the InferenceFailed it gets
    await worker.shutdown()                 # waits for a running batch without blocking the event loop

A batch that fails is rerun request by request, so only the request that breaks the model fails. Encoding the
rows is the next stage's work (`service.pipeline`), so it overlaps the next batch instead of delaying it.
Inference never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from service.batch_queue import Inputs, Part
from service.context import QUEUE
from service.errors import InferenceFailed
from service.metrics import ModelMetrics

log = logging.getLogger("ganserve.batcher")

Engine = Callable[[Inputs], np.ndarray]
Outcome = np.ndarray | InferenceFailed  # per part: its output rows, or the failure only it gets


class Worker:
    def __init__(self, engine: Engine, metrics: ModelMetrics, name: str = "model", threads: int = 1) -> None:
        self.engine = engine
        self.metrics = metrics
        self.name = name
        # one thread per model instance: onnxruntime sessions take concurrent runs from several threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"infer-{name}")

    async def run(self, parts: list[Part]) -> list[Outcome]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.run_parts, parts)

    async def shutdown(self) -> None:
        """Wait (in another thread) for the batch that is running, then release the thread."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)

    def run_parts(self, parts: list[Part]) -> list[Outcome]:
        rows = self._infer(parts)
        if isinstance(rows, InferenceFailed):
            if len({id(p.job) for p in parts}) == 1:
                return [rows] * len(parts)
            # isolate the failure: rerun each request alone so only the one that breaks the model fails
            return [self.run_parts([part])[0] for part in parts]
        outcomes: list[Outcome] = []
        offset = 0
        for part in parts:
            outcomes.append(rows[offset : offset + part.size])
            offset += part.size
        return outcomes

    def _infer(self, parts: list[Part]) -> np.ndarray | InferenceFailed:
        total = sum(p.size for p in parts)
        first = parts[0]
        if len(parts) == 1 and first.size == first.job.n:
            feeds = first.job.inputs
        else:
            feeds = {k: np.concatenate([p.job.inputs[k][p.start : p.stop] for p in parts]) for k in first.job.inputs}
        started = time.perf_counter()
        try:
            rows = self.engine(feeds)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types; the message is what matters
            message = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            log.warning("batcher %s: inference failed on a batch of %d: %s", self.name, total, message)
            return InferenceFailed(f"inference failed: {message}")
        ended = time.perf_counter()
        self.metrics.inference_duration.observe(ended - started)
        if not isinstance(rows, np.ndarray) or rows.ndim == 0 or rows.shape[0] != total:
            got = rows.shape[0] if isinstance(rows, np.ndarray) and rows.ndim else "no"
            return InferenceFailed(f"the model returned {got} rows for a batch of {total}")
        self.metrics.batch_size.observe(total)
        self.metrics.images.inc(total)
        for part in parts:  # for the request's trace: it waited until its batch started (thread hop included)
            if part.job.record is not None:
                part.job.record.stage(QUEUE, part.job.submitted, started)
                part.job.record.ran(started, ended, total, part.size)
        return rows
