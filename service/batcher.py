"""An asyncio dynamic batcher: items in, futures out. It knows nothing about HTTP, models or PNGs.

    batcher = Batcher(runtime.run, max_batch_size=64, max_queue_delay_s=0.002, capacity=1024)
    await batcher.start()
    body = await batcher.run({"z": noise}, finish=encode_rows, timeout=10.0, complete=assemble)

A request is a dict of input arrays sharing a leading (row) dimension; each row is one *item*. Items wait in a
`BatchQueue` (by row shape, split across batches), run in a `Worker` thread (`instances` batches at once), and are
encoded in the `EncodeStage` (`service.pipeline`) while the next batch runs; this module schedules between them.
An item that finds an instance idle and the queue empty runs at once; items that arrive while every instance is
busy wait for a batch that is full or whose oldest item waited `max_queue_delay_s`; idle instances share the queue.
A full queue refuses (`Overloaded`); a passed timeout (`DeadlineExceeded`) or a cancelled caller drops its items,
and its rows if inference ran; a failing batch is retried request by request so only the culprit fails, as with a
failing encoder; when encoding falls behind no batch is taken (memory stays flat). Clock and timer are injected
(`service.timing`), so tests need no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import numpy as np

from service.batch_queue import BatchQueue, Complete, Finish, Inputs, Job, Part
from service.errors import DeadlineExceeded, Draining, GanserveError, Overloaded
from service.instances import Instances
from service.metrics import Metrics, ModelMetrics
from service.pipeline import EncodePool, EncodeStage
from service.retry_after import RetryAfter
from service.timing import Clock, Timer, loop_timer
from service.worker import Engine, Worker

__all__ = ["Batcher", "Complete", "Engine", "Finish", "Inputs", "Timer"]

log = logging.getLogger("ganserve.batcher")
EXPIRED = "the request did not finish within its {ms:.0f} ms deadline (server busy); retry or raise deadline_ms"


class Batcher:
    def __init__(
        self,
        engine: Engine,
        *,
        max_batch_size: int,
        max_queue_delay_s: float,
        capacity: int,
        metrics: ModelMetrics | None = None,
        clock: Clock = time.monotonic,
        timer: Timer = loop_timer,
        name: str = "model",
        retry_after: RetryAfter | None = None,
        encoders: EncodePool | None = None,
        instances: int = 1,
    ) -> None:
        if max_batch_size < 1 or capacity < 1 or max_queue_delay_s < 0:
            raise ValueError("max_batch_size and capacity must be >= 1, max_queue_delay_s >= 0")
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self.capacity = capacity
        self.metrics = metrics or Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,)).for_model(name)
        self.clock = clock
        self.timer = timer
        self.name = name
        self.retry_after = retry_after or RetryAfter(clock=clock)
        self._queue = BatchQueue(on_count=self.metrics.queue_items.set)
        self.instances = Instances(instances, name)
        self._worker = Worker(engine, self.metrics, name, threads=instances)
        # stage two: shared with every model when the registry passes one, else a private one-thread pool
        self._own_pool = encoders is None
        pool = encoders or EncodePool(1, max(4 * max_batch_size, 256))
        self._stage = EncodeStage(pool, self.metrics, name, answer=Job.resolve, fail=self._fail_encoded)
        self._room_wait = 0.0  # how long the last batch waited for the encode stage (for the Retry-After estimate)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._backlog = False  # items arrived while every instance was busy: they may wait for companions

    @property
    def queued_items(self) -> int:
        return self._queue.items

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch running (an unloaded model waits for this before it stops)."""
        return self._queue.items == 0 and not self.instances.busy

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Refuse new work, fail what is still queued, wait for the running batch, release the thread."""
        self._closed = True
        running = self.instances.parts()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.instances.cancel()
        for job in self._queue.drain() + [part.job for part in running] + list(self._stage.jobs):
            job.reject(Draining("the server is shutting down; retry on another replica"))
        await self._worker.shutdown()
        if self._own_pool:
            await self._stage.pool.stop()

    @property
    def full(self) -> bool:
        """No request fits, whatever its size: what the early refusal layer (service/shedding.py) asks."""
        return self.room <= 0

    @property
    def room(self) -> int:  # items the queue can still take
        return self.capacity - self._queue.items

    def refuse(self) -> Overloaded:
        """Count a refusal and return the error to raise, with a Retry-After from the queue's depth."""
        self.metrics.rejected("queue_full")
        wait = self.retry_after.seconds(self._queue.items)
        queue = f"its queue of {self.capacity} images has no room for this request"
        return Overloaded(f"model {self.name!r} is at capacity: {queue}; retry after the Retry-After delay", wait)

    def ensure_room(self, n: int) -> None:
        """Raise Overloaded now if n more items would not fit: callers refuse before preparing inputs."""
        if n > self.room:
            raise self.refuse()

    def submit(
        self,
        inputs: Inputs,
        finish: Finish | None = None,
        timeout: float | None = None,
        complete: Complete | None = None,
    ) -> Job:
        """Queue a request's rows; raises Overloaded at once if they do not fit. Await `.future` for the answer."""
        if self._closed:
            raise Draining("the server is shutting down; retry on another replica")
        now = self.clock()
        deadline = now + timeout if timeout is not None else float("inf")
        job = Job(inputs, finish, deadline, asyncio.get_running_loop().create_future(), complete)
        self.ensure_room(job.n)
        self._queue.push(job, now)
        self._backlog = self._backlog or self.instances.idle == 0
        self._wake.set()
        return job

    async def run(
        self,
        inputs: Inputs,
        finish: Finish | None = None,
        timeout: float | None = None,
        complete: Complete | None = None,
    ) -> Any:
        """Submit and wait for the answer (made in the encode stage); cancelling drops the rows not yet run."""
        job = self.submit(inputs, finish, timeout, complete)
        expiry = None if timeout is None else self.timer(timeout, lambda: self._expire(job, timeout))
        try:
            return await job.future
        except asyncio.CancelledError:
            self._abandon(job, "cancelled")
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    async def _loop(self) -> None:
        while True:
            try:
                if self._queue.items == 0:
                    self._wake.clear()
                    await self._wake.wait()  # idle engine, empty queue: whatever arrives runs at once
                elif self._backlog:
                    await self._gather()  # items that queued behind a running batch: let companions join
                await self.instances.acquire()  # an idle instance (with one instance: once the last batch is done)
                waiting = self.clock()
                await self._stage.room(self.max_batch_size)  # back-pressure: encoding is behind, leave rows queued
                self._room_wait = self.clock() - waiting
                parts = self._take()
                self._backlog = self._queue.items > 0  # left over from a full batch: same rule as any backlog
                if not parts:
                    self.instances.release()
                    continue
                batch = self.instances.start(self._execute(parts), parts)
                if self.instances.count == 1:
                    await asyncio.wait([batch])  # one instance: the next batch is formed after this one ran
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the model being served
                log.exception("batcher %s: unexpected error; continuing", self.name)

    async def _gather(self) -> None:
        """Wait until a full batch is queued or the oldest item has waited max_queue_delay_s."""
        while self._queue.items < self.max_batch_size:
            oldest = self._queue.oldest()
            if oldest is None:
                return
            remaining = oldest + self.max_queue_delay_s - self.clock()
            if remaining <= 0:
                return
            self._wake.clear()
            due = self.timer(remaining, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                due.cancel()

    def _take(self) -> list[Part]:
        """The next batch; with several idle instances, an equal share of what is queued, so they all work."""
        now = self.clock()
        idle = self.instances.idle
        share = -(-self._queue.items // idle) if idle > 1 else self.max_batch_size
        parts, expired = self._queue.take(min(self.max_batch_size, max(1, share)), now)
        for job in expired:
            self.metrics.rejected("expired")
            job.reject(DeadlineExceeded("the request's deadline passed while it was queued"))
        for part in parts:
            self.metrics.queue_wait.observe(now - part.enqueued)
        return parts

    async def _execute(self, parts: list[Part]) -> None:
        """Inference in the worker thread, then hand rows to the encode stage and return (overlapping the next)."""
        started = self.clock()
        outcomes = await self._worker.run(parts)
        # throughput for Retry-After: a batch that waited for the encoders took that long too
        self.retry_after.completed(sum(part.size for part in parts), self.clock() - started + self._room_wait)
        encode: list[tuple[Part, np.ndarray]] = []
        for part, outcome in zip(parts, outcomes, strict=True):
            job = part.job
            if job.closed:
                continue  # abandoned during inference: its rows are dropped before encoding
            if isinstance(outcome, GanserveError):
                self._fail_encoded(job, outcome)
            else:
                encode.append((part, outcome))
        if encode:
            self._stage.hand_over(encode)

    def _fail_encoded(self, job: Job, error: GanserveError) -> None:
        """Fail a request whose inference or encoding failed, and drop what it still has queued."""
        self._queue.abandon(job)
        self.metrics.rejected("failed")
        job.reject(error)

    def _expire(self, job: Job, timeout: float) -> None:
        if self._abandon(job, "expired"):
            job.reject(DeadlineExceeded(EXPIRED.format(ms=timeout * 1000)))

    def _abandon(self, job: Job, reason: str) -> bool:
        if not self._queue.abandon(job):
            return False
        self.metrics.rejected(reason)
        return True
