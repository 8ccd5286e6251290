"""The batcher's worker: runs a batch, checks its row count, hands each request its rows, isolates failures.
Encoding is the next stage's (tests/service/test_pipeline.py): the worker never calls a request's `finish`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from service.batch_queue import Finish, Job, Part
from service.errors import InferenceFailed
from service.metrics import Metrics, ModelMetrics
from service.worker import Worker


def metrics() -> ModelMetrics:
    return Metrics(latency_buckets=(1.0,), batch_buckets=(1.0, 8.0)).for_model("m")


def parts(*requests: Sequence[float], finish: Finish | None = None) -> list[Part]:
    loop = asyncio.get_running_loop()
    out = []
    for values in requests:
        job = Job(
            {"x": np.array(values, np.float32).reshape(-1, 1)},
            finish or (lambda rows, start: list(rows)),
            float("inf"),
            loop.create_future(),
        )
        out.append(Part(job, 0, job.n, 0.0))
    return out


def values(outcome: Any) -> list[float]:
    return [float(r[0]) for r in outcome]


async def test_a_batch_runs_once_and_each_request_gets_its_own_rows() -> None:
    seen: list[int] = []

    def engine(feeds: dict[str, np.ndarray]) -> np.ndarray:
        seen.append(len(feeds["x"]))
        return feeds["x"] * 10

    worker = Worker(engine, metrics())
    outcomes = await worker.run(parts([1, 2], [3]))
    await worker.shutdown()
    assert seen == [3] and [values(o) for o in outcomes] == [[10, 20], [30]]


async def test_a_failing_batch_is_rerun_per_request_so_only_the_culprit_fails() -> None:
    def engine(feeds: dict[str, np.ndarray]) -> np.ndarray:
        if (feeds["x"] < 0).any():
            raise RuntimeError("negative input\nsecond line is dropped")
        return feeds["x"]

    worker = Worker(engine, metrics())
    good, bad = await worker.run(parts([1], [-1]))
    await worker.shutdown()
    assert values(good) == [1]
    assert isinstance(bad, InferenceFailed) and bad.message == "inference failed: negative input"


async def test_a_wrong_row_count_fails_clearly_and_the_worker_never_encodes() -> None:
    short = Worker(lambda feeds: feeds["x"][:-1], metrics())
    (outcome,) = await short.run(parts([1, 2]))
    assert isinstance(outcome, InferenceFailed) and "returned 1 rows for a batch of 2" in outcome.message

    def broken(rows: np.ndarray, start: int) -> list[Any]:
        raise AssertionError("the inference thread must not encode")

    worker = Worker(lambda feeds: feeds["x"], metrics())
    first, second = await worker.run(parts([1], finish=broken) + parts([2]))
    assert values(first) == [1] and values(second) == [2]
    await short.shutdown()
    await worker.shutdown()


async def test_a_split_request_gets_each_slice_of_its_rows() -> None:
    (job_part,) = parts([1, 2, 3, 4])
    head = Part(job_part.job, 0, 2, 0.0)
    tail = Part(job_part.job, 2, 4, 0.0)
    worker = Worker(lambda feeds: feeds["x"] * 2, metrics())
    assert [values(o) for o in await worker.run([head])] == [[2.0, 4.0]]
    assert [values(o) for o in await worker.run([tail])] == [[6.0, 8.0]]
    await worker.shutdown()
