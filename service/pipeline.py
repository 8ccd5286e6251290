"""Stage two of serving: the encode pool, which turns a batch's output rows into answers while the next batch runs.

    pool = EncodePool(workers=1, capacity=256)
    await pool.room(64)                              # the batcher waits here before it takes its next batch
    rows = await pool.submit(job, rows=16)           # `job` runs in an encoder thread; awaited on the event loop
    await pool.stop()

The model's inference thread only feeds the engine: the batcher hands each finished batch to this pool (one job
per worker, each covering whole requests) and goes straight back to its queue, so PNG/JPEG/WebP encoding,
grids, base64 and JSON overlap the next batch's inference instead of following it. One pool serves every model:
encoding is plain CPU work, and its size is one setting (GANSERVE_ENCODE_WORKERS).

Bounded: `capacity` counts rows handed over and not yet encoded. When it is reached the batcher stops taking
batches, its own queue fills, and new requests are refused (503) at the door: memory stays flat however far the
offered load outruns encoding. zlib, libjpeg, libwebp and numpy release the GIL, so encoder threads really run
beside onnxruntime's.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_PR_SET_NAME = 15


def name_native_thread(name: str) -> None:
    """Give the calling thread a kernel-visible name (`/proc/<pid>/task/<tid>/comm`, top -H, py-spy), so per-stage
    CPU time can be read from outside the process. Best effort: Linux only, 15 bytes."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def default_workers(cores: int, intra_op_threads: int, gpu: bool) -> int:
    """What the host's cores allow beside onnxruntime's threads, at least 1.

    On the CPU provider onnxruntime's pool takes `intra_op_threads` cores (0: all of them); on a GPU it mostly
    waits for the device, so every core but the inference thread's can encode.
    """
    if gpu:
        return max(1, cores - 1)
    inference = intra_op_threads or cores
    return max(1, cores - inference)


def host_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class EncodePool:
    def __init__(self, workers: int, capacity: int, thread_name: str = "gs-encode") -> None:
        if workers < 1 or capacity < 1:
            raise ValueError("an encode pool needs at least one worker and room for at least one row")
        self.workers = workers
        self.capacity = capacity
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=thread_name,
                                            initializer=name_native_thread, initargs=(thread_name,))
        self._rows = 0
        self._freed = asyncio.Event()
        self._closed = False

    @property
    def rows(self) -> int:
        """Rows handed over and not yet encoded (queued or in an encoder)."""
        return self._rows

    async def room(self, rows: int) -> None:
        """Wait until `rows` more fit. An empty pool always has room, so one batch larger than the capacity
        still runs (alone) rather than waiting forever."""
        while self._rows > 0 and self._rows + rows > self.capacity:
            self._freed.clear()
            await self._freed.wait()

    def submit(self, job: Callable[[], T], rows: int) -> asyncio.Future[T]:
        """Run `job` in an encoder thread; `rows` count against the capacity until it finishes."""
        if self._closed:
            raise RuntimeError("the encode pool is stopped")
        future = asyncio.get_running_loop().run_in_executor(self._executor, job)
        self._rows += rows

        def release(_: asyncio.Future[T]) -> None:
            self._rows -= rows
            self._freed.set()

        future.add_done_callback(release)
        return future

    async def stop(self) -> None:
        """Finish the jobs already handed over (their requests are failed by their batchers), then release the
        threads, without blocking the event loop."""
        self._closed = True
        await asyncio.to_thread(self._executor.shutdown, wait=True)
