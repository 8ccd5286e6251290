"""An asyncio dynamic batcher: items in, futures out. It knows nothing about HTTP, models or PNGs.

    batcher = Batcher(runtime.run, max_batch_size=64, max_queue_delay_s=0.002, capacity=1024)
    await batcher.start()
    pngs = await batcher.run({"z": noise}, finish=encode_rows, timeout=10.0)   # one result per row

A request is a dict of input arrays sharing a leading (row) dimension; each row is one *item*. Batches are
formed per group of identical row shapes/dtypes (translation uploads of different sizes never mix) and hold
up to `max_batch_size` items; a request with more rows is split across consecutive batches.

When to run: an item that finds the engine idle and the queue empty runs at once (no added latency for a lone
client). Items that arrive while a batch runs wait for the next one, which starts when it is full or when its
oldest item has waited `max_queue_delay_s`. Inference (and each request's `finish`, e.g. PNG encoding) runs in
a single worker thread, never on the event loop.

Refusals and losses: a full queue (counted in items) refuses at once with `Overloaded`; a request whose timeout
passes gets `DeadlineExceeded` and its queued items are dropped; a cancelled caller (client gone) has its
not-yet-started items dropped; a failing batch is retried request by request so that only the culprit fails,
with `InferenceFailed`, and the batcher keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from service.errors import DeadlineExceeded, Draining, GanserveError, InferenceFailed, InvalidRequest, Overloaded
from service.metrics import Metrics, ModelMetrics
from service.retry_after import RetryAfter

log = logging.getLogger("ganserve.batcher")

Inputs = dict[str, np.ndarray]
Engine = Callable[[Inputs], np.ndarray]
# (output rows of one request slice, index of the slice's first row in its request) -> one result per row
Finish = Callable[[np.ndarray, int], Sequence[Any]]


def _rows(rows: np.ndarray, start: int) -> Sequence[Any]:
    return list(rows)


class _Request:
    __slots__ = ("inputs", "n", "finish", "deadline", "future", "results", "pending", "queued", "closed")

    def __init__(self, inputs: Inputs, n: int, finish: Finish, deadline: float, future: asyncio.Future[list[Any]]):
        self.inputs = inputs
        self.n = n
        self.finish = finish
        self.deadline = deadline
        self.future = future
        self.results: list[Any] = [None] * n
        self.pending = n  # rows without a result yet
        self.queued = n  # rows still waiting in the queue
        self.closed = False  # answered, failed, expired or abandoned: drop whatever of it is still queued


class _Part:
    """Rows [start, stop) of one request, queued since `enqueued`."""

    __slots__ = ("request", "start", "stop", "enqueued")

    def __init__(self, request: _Request, start: int, stop: int, enqueued: float) -> None:
        self.request, self.start, self.stop, self.enqueued = request, start, stop, enqueued


class Batcher:
    def __init__(self, engine: Engine, *, max_batch_size: int, max_queue_delay_s: float, capacity: int,
                 metrics: ModelMetrics | None = None, clock: Callable[[], float] = time.monotonic,
                 name: str = "model", retry_after: RetryAfter | None = None) -> None:
        if max_batch_size < 1 or capacity < 1 or max_queue_delay_s < 0:
            raise ValueError("max_batch_size and capacity must be >= 1, max_queue_delay_s >= 0")
        self.engine = engine
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self.capacity = capacity
        self.metrics = metrics or Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,)).for_model(name)
        self.clock = clock
        self.name = name
        self.retry_after = retry_after or RetryAfter(clock=clock)
        self._groups: dict[tuple[Any, ...], deque[_Part]] = {}
        self._queued = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{name}")
        self._closed = False
        self._busy = False  # a batch is running
        self._running: list[_Part] = []
        self._backlog = False  # items arrived while it ran: they may wait for companions

    @property
    def queued_items(self) -> int:
        return self._queued

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Refuse new work, fail what is still queued, wait for the running batch, release the thread."""
        self._closed = True
        running = self._running  # cancelling the loop clears it
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for part in [p for parts in self._groups.values() for p in parts] + running:
            self._fail(part.request, Draining("the server is shutting down; retry on another replica"))
        self._groups.clear()
        self._set_queued(0)
        self._executor.shutdown(wait=True)

    @property
    def full(self) -> bool:
        """No request fits, whatever its size: what the early refusal layer (service/shedding.py) asks."""
        return self._queued >= self.capacity

    def refuse(self) -> Overloaded:
        """Count a refusal and return the error to raise, with a Retry-After from the queue's depth."""
        self.metrics.rejected("queue_full")
        return Overloaded(f"model {self.name!r} is at capacity: its queue of {self.capacity} images has no room "
                          "for this request; retry after the Retry-After delay",
                          retry_after_s=self.retry_after.seconds(self._queued))

    def ensure_room(self, n: int) -> None:
        """Raise Overloaded now if n more items would not fit, so that callers can refuse before they spend time
        preparing the inputs (under overload most requests are refused, and each would pay for its noise first)."""
        if self._queued + n > self.capacity:
            raise self.refuse()

    def submit(self, inputs: Inputs, finish: Finish | None = None, timeout: float | None = None) -> _Request:
        """Queue a request's rows; raises Overloaded at once if they do not fit. Await `.future` for results."""
        if self._closed:
            raise Draining("the server is shutting down; retry on another replica")
        n = _row_count(inputs)
        self.ensure_room(n)
        now = self.clock()
        deadline = now + timeout if timeout is not None else float("inf")
        request = _Request(inputs, n, finish or _rows, deadline, asyncio.get_running_loop().create_future())
        key = tuple((k, v.shape[1:], v.dtype.str) for k, v in sorted(inputs.items()))
        self._groups.setdefault(key, deque()).append(_Part(request, 0, n, now))
        self._set_queued(self._queued + n)
        self._backlog = self._backlog or self._busy
        self._wake.set()
        return request

    async def run(self, inputs: Inputs, finish: Finish | None = None, timeout: float | None = None) -> list[Any]:
        """Submit and wait: one result per row, in order. Cancelling the caller drops its unstarted rows."""
        request = self.submit(inputs, finish, timeout)
        try:
            async with asyncio.timeout(timeout):
                return await request.future
        except TimeoutError:
            self._abandon(request, "expired")
            raise DeadlineExceeded(f"the request did not finish within its {(timeout or 0) * 1000:.0f} ms deadline "
                                   "(server busy); retry or raise deadline_ms") from None
        except asyncio.CancelledError:
            self._abandon(request, "cancelled")
            raise

    # -- the loop -------------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                if self._queued == 0:
                    self._wake.clear()
                    await self._wake.wait()  # idle engine, empty queue: whatever arrives runs at once
                elif self._backlog:
                    await self._gather()  # items that queued behind a running batch: let companions join
                parts = self._take()
                self._backlog = self._queued > 0  # left over from a full batch: same rule as any backlog
                if parts:
                    self._busy, self._running = True, parts
                    try:
                        await self._execute(parts)
                    finally:
                        self._busy, self._running = False, []
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the model being served
                log.exception("batcher %s: unexpected error; continuing", self.name)

    async def _gather(self) -> None:
        while self._queued < self.max_batch_size:
            oldest = self._oldest()
            if oldest is None:
                return
            remaining = oldest + self.max_queue_delay_s - self.clock()
            if remaining <= 0:
                return
            self._wake.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            except TimeoutError:
                return

    def _oldest(self) -> float | None:
        heads = [self._head(parts) for parts in self._groups.values()]
        times = [part.enqueued for part in heads if part is not None]
        return min(times) if times else None

    def _head(self, parts: deque[_Part]) -> _Part | None:
        while parts and parts[0].request.closed:
            parts.popleft()
        return parts[0] if parts else None

    def _take(self) -> list[_Part]:
        """Pop up to max_batch_size rows from the group whose oldest item waited longest."""
        key, oldest = None, float("inf")
        for k, parts in list(self._groups.items()):
            head = self._head(parts)
            if head is None:
                del self._groups[k]
            elif head.enqueued < oldest:
                key, oldest = k, head.enqueued
        if key is None:
            return []
        queue, now, room, taken = self._groups[key], self.clock(), self.max_batch_size, []
        while queue and room:
            part = queue[0]
            request = part.request
            if request.closed:
                queue.popleft()
                continue
            if now >= request.deadline:
                queue.popleft()
                self._abandon(request, "expired")
                self._fail(request, DeadlineExceeded("the request's deadline passed while it was queued"))
                continue
            size = min(part.stop - part.start, room)
            if size == part.stop - part.start:
                queue.popleft()
                piece = part
            else:  # split: the rest of this request stays at the head for the next batch
                piece = _Part(request, part.start, part.start + size, part.enqueued)
                part.start += size
            request.queued -= size
            room -= size
            taken.append(piece)
            self.metrics.queue_wait.observe(now - part.enqueued)
        if not queue:
            del self._groups[key]
        self._set_queued(self._queued - (self.max_batch_size - room))
        return taken

    async def _execute(self, parts: list[_Part]) -> None:
        loop = asyncio.get_running_loop()
        started = self.clock()
        outcomes = await loop.run_in_executor(self._executor, self._run_parts, parts)
        self.retry_after.completed(sum(p.stop - p.start for p in parts), self.clock() - started)
        for part, outcome in zip(parts, outcomes, strict=True):
            request = part.request
            if request.closed:
                continue
            if isinstance(outcome, GanserveError):
                self.metrics.rejected("failed")
                request.closed = True
                self._set_queued(self._queued - request.queued)
                request.queued = 0
                self._fail(request, outcome)
                continue
            request.results[part.start:part.stop] = outcome
            request.pending -= part.stop - part.start
            if request.pending == 0:
                request.closed = True
                if not request.future.done():
                    request.future.set_result(request.results)

    # -- worker thread --------------------------------------------------------------------------------------

    def _run_parts(self, parts: list[_Part]) -> list[Sequence[Any] | GanserveError]:
        rows = self._infer(parts)
        if isinstance(rows, GanserveError):
            if len({id(p.request) for p in parts}) == 1:
                return [rows] * len(parts)
            # isolate the failure: rerun each request alone so only the one that breaks the model fails
            return [self._run_parts([part])[0] for part in parts]
        outcomes: list[Sequence[Any] | GanserveError] = []
        offset = 0
        for part in parts:
            size = part.stop - part.start
            chunk, offset = rows[offset:offset + size], offset + size
            try:
                result = part.request.finish(chunk, part.start)
            except Exception as e:  # an encoding bug must fail its own request, not the batch
                log.exception("batcher %s: finishing a request failed", self.name)
                outcomes.append(InferenceFailed(f"post-processing failed: {type(e).__name__}"))
                continue
            outcomes.append(result if len(result) == size else InferenceFailed("post-processing lost rows"))
        return outcomes

    def _infer(self, parts: list[_Part]) -> np.ndarray | GanserveError:
        total = sum(p.stop - p.start for p in parts)
        names = parts[0].request.inputs.keys()
        if len(parts) == 1 and parts[0].stop - parts[0].start == parts[0].request.n:
            feeds = parts[0].request.inputs
        else:
            feeds = {k: np.concatenate([p.request.inputs[k][p.start:p.stop] for p in parts]) for k in names}
        started = time.perf_counter()
        try:
            rows = self.engine(feeds)
        except Exception as e:  # onnxruntime raises its own exception types; the message is what matters
            message = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            log.warning("batcher %s: inference failed on a batch of %d: %s", self.name, total, message)
            return InferenceFailed(f"inference failed: {message}")
        self.metrics.inference_duration.observe(time.perf_counter() - started)
        if not isinstance(rows, np.ndarray) or rows.ndim == 0 or rows.shape[0] != total:
            got = rows.shape[0] if isinstance(rows, np.ndarray) and rows.ndim else "no"
            return InferenceFailed(f"the model returned {got} rows for a batch of {total}")
        self.metrics.batch_size.observe(total)
        self.metrics.images.inc(total)
        return rows

    # -- bookkeeping ----------------------------------------------------------------------------------------

    def _abandon(self, request: _Request, reason: str) -> None:
        if request.closed:
            return
        request.closed = True
        self.metrics.rejected(reason)
        self._set_queued(self._queued - request.queued)
        request.queued = 0

    def _fail(self, request: _Request, error: GanserveError) -> None:
        request.closed = True
        if not request.future.done():
            request.future.set_exception(error)

    def _set_queued(self, items: int) -> None:
        self._queued = items
        self.metrics.queue_items.set(items)


def _row_count(inputs: Inputs) -> int:
    counts = {v.shape[0] if v.ndim else -1 for v in inputs.values()}
    if not inputs or len(counts) != 1 or min(counts) < 1:
        raise InvalidRequest("every input must have the same number of rows (>= 1)")
    return counts.pop()
