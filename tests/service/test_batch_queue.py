"""The batcher's queue on its own: no event loop running, no threads, time passed in by hand."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from service.batch_queue import BatchQueue, Job
from service.errors import InvalidRequest


def job(loop: asyncio.AbstractEventLoop, *values: float, width: int = 1, deadline: float = float("inf")) -> Job:
    inputs = {"x": np.array(values, np.float32).reshape(-1, 1).repeat(width, axis=1)}
    return Job(inputs, lambda rows, start: list(rows), deadline, loop.create_future())


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_take_splits_a_large_job_across_batches_in_row_order(loop: asyncio.AbstractEventLoop) -> None:
    counts: list[int] = []
    queue = BatchQueue(on_count=counts.append)
    big = job(loop, *range(10))
    queue.push(big, now=0.0)
    spans = []
    while queue.items:
        parts, _ = queue.take(4, now=1.0)
        spans += [(p.start, p.stop) for p in parts]
    assert spans == [(0, 4), (4, 8), (8, 10)]
    assert counts == [10, 6, 2, 0] and big.queued == 0


def test_shapes_never_mix_and_the_group_waiting_longest_goes_first(loop: asyncio.AbstractEventLoop) -> None:
    queue = BatchQueue()
    narrow1, wide, narrow2 = job(loop, 1), job(loop, 2, width=3), job(loop, 3)
    queue.push(wide, now=0.0)
    queue.push(narrow1, now=1.0)
    queue.push(narrow2, now=2.0)
    assert queue.oldest() == 0.0
    first, _ = queue.take(8, now=3.0)
    second, _ = queue.take(8, now=3.0)
    assert [p.job for p in first] == [wide] and [p.job for p in second] == [narrow1, narrow2]
    assert queue.oldest() is None and queue.take(8, now=3.0) == ([], [])


def test_abandoned_jobs_stop_counting_and_are_skipped(loop: asyncio.AbstractEventLoop) -> None:
    queue = BatchQueue()
    gone, kept = job(loop, 1, 2, 3), job(loop, 4)
    queue.push(gone, now=0.0)
    queue.push(kept, now=1.0)
    assert queue.abandon(gone) and not queue.abandon(gone)  # the second call changes nothing
    assert queue.items == 1 and queue.oldest() == 1.0
    parts, _ = queue.take(8, now=2.0)
    assert [p.job for p in parts] == [kept]


def test_jobs_past_their_deadline_are_returned_to_fail_not_taken(loop: asyncio.AbstractEventLoop) -> None:
    queue = BatchQueue()
    late, fine = job(loop, 1, 2, deadline=5.0), job(loop, 3)
    queue.push(late, now=0.0)
    queue.push(fine, now=0.0)
    parts, expired = queue.take(8, now=5.0)
    assert expired == [late] and late.closed and [p.job for p in parts] == [fine] and queue.items == 0


def test_drain_returns_the_open_jobs_and_empties_the_queue(loop: asyncio.AbstractEventLoop) -> None:
    queue = BatchQueue()
    a, b, closed = job(loop, 1), job(loop, 2, width=2), job(loop, 3)
    for j in (a, b, closed):
        queue.push(j, now=0.0)
    queue.abandon(closed)
    assert set(map(id, queue.drain())) == {id(a), id(b)} and queue.items == 0


def test_inputs_must_share_a_row_count(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(InvalidRequest, match="same number of rows"):
        Job({"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}, lambda r, s: list(r), 0.0, loop.create_future())
