"""The batcher's queue: requests' rows waiting to run, grouped by row shape, oldest first.

    queue = BatchQueue(on_count=gauge.set)
    queue.push(job, now)                                  # all of a job's rows, as one part
    parts, expired = queue.take(max_items=64, now=now)    # up to 64 rows of the group waiting longest
    queue.abandon(job)                                    # drop whatever of it is still queued

Rows of different shapes or dtypes (e.g. uploads of different sizes) are never grouped together; a job with more
rows than a batch takes is split across consecutive batches. The queue knows no asyncio, threads, engines or
HTTP: `Batcher` schedules, the worker runs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from service.context import current as current_record
from service.errors import InvalidRequest

Inputs = dict[str, np.ndarray]
# (output rows of one request slice, index of the slice's first row in its request) -> one result per row
Finish = Callable[[np.ndarray, int], Sequence[Any]]
# every row's result, in order -> what the caller gets (e.g. the response body)
Complete = Callable[[list[Any]], Any]
GroupKey = tuple[tuple[str, tuple[int, ...], str], ...]


class Job:
    """One request: its inputs (n rows), how to encode its rows and assemble its answer (both run in the encode
    stage, `service.pipeline`), its deadline and the future its caller awaits."""

    __slots__ = (
        "closed",
        "complete",
        "deadline",
        "finish",
        "future",
        "inputs",
        "n",
        "pending",
        "queued",
        "record",
        "results",
        "submitted",
    )

    def __init__(
        self,
        inputs: Inputs,
        finish: Finish | None,
        deadline: float,
        future: asyncio.Future[Any],
        complete: Complete | None = None,
    ) -> None:
        self.inputs = inputs
        self.n = row_count(inputs)
        self.finish = finish  # None: the caller gets the output rows themselves
        self.complete = complete  # None: the caller gets the list of per-row results
        self.deadline = deadline
        self.future = future
        self.results: list[Any] = [None] * self.n
        self.pending = self.n  # rows without a result yet
        self.queued = self.n  # rows still waiting in the queue
        self.closed = False  # answered, failed, expired or abandoned: drop whatever of it is still queued
        self.record = current_record()  # the request it serves, if any: the worker notes its stages there
        self.submitted = time.perf_counter()

    def resolve(self, value: Any) -> None:
        """Answer the caller (once); whatever of the job is still queued is dropped."""
        self.closed = True
        if not self.future.done():
            self.future.set_result(value)

    def reject(self, error: BaseException) -> None:
        """Fail the caller (once); whatever of the job is still queued is dropped."""
        self.closed = True
        if not self.future.done():
            self.future.set_exception(error)


class Part:
    """Rows [start, stop) of one job, queued since `enqueued`."""

    __slots__ = ("enqueued", "job", "start", "stop")

    def __init__(self, job: Job, start: int, stop: int, enqueued: float) -> None:
        self.job, self.start, self.stop, self.enqueued = job, start, stop, enqueued

    @property
    def size(self) -> int:
        return self.stop - self.start


def row_count(inputs: Inputs) -> int:
    counts = {v.shape[0] if v.ndim else -1 for v in inputs.values()}
    if not inputs or len(counts) != 1 or min(counts) < 1:
        raise InvalidRequest("every input must have the same number of rows (>= 1)")
    return counts.pop()


def group_key(inputs: Inputs) -> GroupKey:
    return tuple((k, v.shape[1:], v.dtype.str) for k, v in sorted(inputs.items()))


class BatchQueue:
    def __init__(self, on_count: Callable[[int], None] = lambda items: None) -> None:
        self._groups: dict[GroupKey, deque[Part]] = {}
        self._items = 0
        self._on_count = on_count

    @property
    def items(self) -> int:
        """Rows queued, over all groups (closed jobs' rows are not counted)."""
        return self._items

    def push(self, job: Job, now: float) -> None:
        self._groups.setdefault(group_key(job.inputs), deque()).append(Part(job, 0, job.n, now))
        self._count(self._items + job.n)

    def oldest(self) -> float | None:
        """When the longest-waiting open part was queued, or None when nothing is."""
        heads = [self._head(parts) for parts in self._groups.values()]
        times = [part.enqueued for part in heads if part is not None]
        return min(times) if times else None

    def take(self, max_items: int, now: float) -> tuple[list[Part], list[Job]]:
        """Up to max_items rows from the group whose head waited longest, and the jobs found past their deadline
        on the way (closed and uncounted here: the caller fails them)."""
        key, oldest = None, float("inf")
        for k, parts in list(self._groups.items()):
            head = self._head(parts)
            if head is None:
                del self._groups[k]
            elif head.enqueued < oldest:
                key, oldest = k, head.enqueued
        if key is None:
            return [], []
        queue, room, taken, expired = self._groups[key], max_items, [], []
        while queue and room:
            part = queue[0]
            job = part.job
            if job.closed:
                queue.popleft()
                continue
            if now >= job.deadline:
                queue.popleft()
                self.abandon(job)
                expired.append(job)
                continue
            size = min(part.size, room)
            if size == part.size:
                queue.popleft()
                piece = part
            else:  # split: the rest of this job stays at the head for the next batch
                piece = Part(job, part.start, part.start + size, part.enqueued)
                part.start += size
            job.queued -= size
            room -= size
            taken.append(piece)
        if not queue:
            del self._groups[key]
        self._count(self._items - (max_items - room))
        return taken, expired

    def abandon(self, job: Job) -> bool:
        """Close a job and stop counting its queued rows (they are skipped when reached); False if already closed."""
        if job.closed:
            return False
        job.closed = True
        self._count(self._items - job.queued)
        job.queued = 0
        return True

    def drain(self) -> list[Job]:
        """Empty the queue; the open jobs that still had rows in it."""
        jobs = {id(p.job): p.job for parts in self._groups.values() for p in parts if not p.job.closed}
        self._groups.clear()
        self._count(0)
        return list(jobs.values())

    def _head(self, parts: deque[Part]) -> Part | None:
        while parts and parts[0].job.closed:
            parts.popleft()
        return parts[0] if parts else None

    def _count(self, items: int) -> None:
        self._items = items
        self._on_count(items)
