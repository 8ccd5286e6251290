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
import contextlib
import ctypes
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from service.batch_queue import Job, Part
from service.context import ENCODE
from service.errors import GanserveError, InferenceFailed
from service.metrics import ModelMetrics

log = logging.getLogger("ganserve.batcher")
T = TypeVar("T")

_PR_SET_NAME = 15
# The server's pool encodes a hand-over this small (output values: two 64x64 RGB pictures) on the event loop when its
# encoders are idle: a lone request then skips two thread hops (loop -> encoder -> loop), ~1-2 ms of its latency.
INLINE_VALUES = 2 * 3 * 64 * 64


def name_native_thread(name: str) -> None:
    """Give the calling thread a kernel-visible name (`/proc/<pid>/task/<tid>/comm`, top -H, py-spy), so per-stage
    CPU time can be read from outside the process. Best effort: Linux only, 15 bytes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


class EncodePool:
    def __init__(self, workers: int, capacity: int, thread_name: str = "gs-encode", inline_values: int = 0) -> None:
        if workers < 1 or capacity < 1:
            raise ValueError("an encode pool needs at least one worker and room for at least one row")
        self.workers = workers
        self.capacity = capacity
        self.inline_values = inline_values  # hand-overs up to this many output values skip the pool when it is idle
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix=thread_name, initializer=name_native_thread, initargs=(thread_name,)
        )
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


@dataclass(frozen=True)
class Answered:
    """A whole request encoded and assembled within one hand-over: the value its caller gets."""

    value: Any


# per part: its rows' results, its request's answer, the error only it gets, or None (dropped: closed meanwhile)
Outcome = Sequence[Any] | Answered | GanserveError | None


def encode_parts(items: Sequence[tuple[Part, np.ndarray]], name: str, metrics: ModelMetrics) -> list[Outcome]:
    """Runs in an encoder thread: each part's `finish`, and its request's `complete` when the part is all of it.

    A request closed since inference (client gone, deadline passed) is skipped, not encoded. An encoder that
    raises fails its own request only.
    """
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for part, rows in items:
        job = part.job
        if job.closed:
            outcomes.append(None)
            continue
        encoding = time.perf_counter()
        try:
            result = job.finish(rows, part.start) if job.finish is not None else list(rows)
            if len(result) != part.size:
                raise ValueError(f"the encoder returned {len(result)} results for {part.size} rows")
            whole = part.size == job.n and job.complete is not None
            outcomes.append(Answered(job.complete(list(result))) if whole and job.complete else result)
            if job.record is not None:
                job.record.stage(ENCODE, encoding, time.perf_counter())
        except Exception as e:  # an encoder bug must fail its own request, not the batch
            log.exception("batcher %s: encoding a request failed", name)
            outcomes.append(InferenceFailed(f"encoding the answer failed: {type(e).__name__}: {e}"[:300]))
    metrics.encode_duration.observe(time.perf_counter() - started)
    return outcomes


def split(items: Sequence[tuple[Part, np.ndarray]], ways: int) -> list[Sequence[tuple[Part, np.ndarray]]]:
    """Contiguous chunks of about equal rows, at most `ways` of them (one per encoder thread)."""
    total = sum(part.size for part, _ in items)
    chunks: list[Sequence[tuple[Part, np.ndarray]]] = []
    begin, rows = 0, 0
    for i, (part, _) in enumerate(items):
        rows += part.size
        if rows * min(ways, len(items)) >= total * (len(chunks) + 1) or i == len(items) - 1:
            chunks.append(items[begin : i + 1])
            begin = i + 1
    return chunks


class EncodeStage:
    """One batcher's side of the pool: hands batches over, collects each request's results, answers it.

    `answer(job, value)` and `fail(job, error)` are the batcher's: the stage decides when, the batcher owns the
    job's bookkeeping (its queue count, metrics).
    """

    def __init__(
        self,
        pool: EncodePool,
        metrics: ModelMetrics,
        name: str,
        answer: Callable[[Job, Any], None],
        fail: Callable[[Job, GanserveError], None],
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.name = name
        self._answer = answer
        self._fail = fail
        self.jobs: set[Job] = set()  # with rows in this stage: failed by the batcher if it stops meanwhile

    async def room(self, rows: int) -> None:
        await self.pool.room(rows)

    def hand_over(self, items: list[tuple[Part, np.ndarray]]) -> None:
        """Queue a batch's successful parts for encoding (one pool job per encoder thread); returns at once.
        Parts of requests that want the output rows themselves (no finish, no complete) are answered here."""
        for part, out in items:
            if part.job.finish is None and part.job.complete is None:
                self._collect(part, list(out))
        items = [item for item in items if item[0].job.finish is not None or item[0].job.complete is not None]
        if items and self.pool.rows == 0 and sum(out.size for _, out in items) <= self.pool.inline_values:
            # idle encoders and a picture or two: encoding here costs less than the two thread hops it saves
            self._deliver(items, encode_parts(items, self.name, self.metrics))
            return
        for chunk in split(items, self.pool.workers):
            rows = sum(part.size for part, _ in chunk)
            self.jobs.update(part.job for part, _ in chunk)
            future = self.pool.submit(functools.partial(encode_parts, chunk, self.name, self.metrics), rows)
            future.add_done_callback(functools.partial(self._encoded, chunk))

    def _encoded(self, chunk: Sequence[tuple[Part, np.ndarray]], future: asyncio.Future[list[Outcome]]) -> None:
        try:
            outcomes = future.result()
        except Exception as e:  # noqa: BLE001 (the pool itself failed, e.g. stopped: every request of the chunk fails)
            outcomes = [InferenceFailed(f"encoding the answer failed: {type(e).__name__}")] * len(chunk)
        self._deliver(chunk, outcomes)

    def _deliver(self, chunk: Sequence[tuple[Part, np.ndarray]], outcomes: list[Outcome]) -> None:
        for (part, _), outcome in zip(chunk, outcomes, strict=True):
            self._collect(part, outcome)

    def _collect(self, part: Part, outcome: Outcome) -> None:
        job = part.job
        if job.closed or outcome is None:
            self.jobs.discard(job)
            return
        if isinstance(outcome, GanserveError):
            self.jobs.discard(job)
            self._fail(job, outcome)
            return
        if isinstance(outcome, Answered):
            self.jobs.discard(job)
            self._answer(job, outcome.value)
            return
        job.results[part.start : part.stop] = outcome
        job.pending -= part.size
        if job.pending == 0:
            self.jobs.discard(job)
            if job.complete is None:
                self._answer(job, job.results)
            else:  # a request split over batches: assemble it now that every row is in
                complete = job.complete
                future = self.pool.submit(functools.partial(complete, job.results), 0)
                future.add_done_callback(functools.partial(self._completed, job))

    def _completed(self, job: Job, future: asyncio.Future[Any]) -> None:
        if job.closed:
            return
        try:
            value = future.result()
        except Exception as e:
            log.exception("batcher %s: assembling an answer failed", self.name, exc_info=e)
            self._fail(job, InferenceFailed(f"encoding the answer failed: {type(e).__name__}: {e}"[:300]))
            return
        self._answer(job, value)
