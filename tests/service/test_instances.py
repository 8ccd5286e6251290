"""Several instances of one model: batches that run at once, each in its own thread on the one session.

The batcher on its own (fake engines held by the test), and a real server with the per-host default layout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from service.batcher import Batcher
from tests.service.test_batcher import Engine, make, metrics, rows, until  # noqa: F401 (fixtures)
from tests.support.models import write_generator
from tests.support.server import running_server


class Gated(Engine):
    """Each batch waits for its own release, so a test can hold two batches inside the engine at once."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()
        self._go = threading.Semaphore(0)

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        with self._lock:
            self.batches.append(feeds["x"].copy())
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        assert self._go.acquire(timeout=10), "test never released the batch"
        with self._lock:
            self.inside -= 1
        return feeds["x"] * 2

    def release_one(self) -> None:
        self._go.release()


async def test_two_instances_run_two_batches_at_once_and_a_third_waits(make: Callable[..., Batcher]) -> None:  # noqa: F811
    engine = Gated()
    batcher = await make(engine, instances=2, max_queue_delay_s=1000.0)
    first = asyncio.ensure_future(batcher.run(rows(1)))
    await until(lambda: engine.inside == 1)
    second = asyncio.ensure_future(batcher.run(rows(2)))  # an idle instance: runs at once, no waiting for the delay
    await until(lambda: engine.inside == 2)
    third = [asyncio.ensure_future(batcher.run(rows(v))) for v in (3, 4)]
    await until(lambda: batcher.queued_items == 2)  # both instances busy: these queue for the next batch
    assert not batcher.idle
    engine.release_one()
    await until(lambda: len(engine.batches) == 3, msg=lambda: engine.sizes)
    assert engine.sizes == [1, 1, 2]  # the queued pair formed one batch when an instance came free
    for _ in range(2):
        engine.release_one()
    assert [float(r[0]) for f in (first, second, *third) for r in await f] == [2, 4, 6, 8]
    assert engine.most_inside == 2
    await until(lambda: batcher.idle)


async def test_idle_instances_share_what_is_queued(make: Callable[..., Batcher]) -> None:  # noqa: F811
    engine = Gated()
    batcher = await make(engine, instances=2, max_batch_size=8)
    big = asyncio.ensure_future(batcher.run(rows(*range(6))))  # one request, two idle instances: 3 rows each
    await until(lambda: engine.inside == 2)
    assert engine.sizes == [3, 3]
    engine.release_one()
    engine.release_one()
    assert [float(r[0]) for r in await big] == [0, 2, 4, 6, 8, 10]  # in order, whatever ran where


async def test_stop_fails_the_requests_of_every_running_batch(make: Callable[..., Batcher]) -> None:  # noqa: F811
    engine = Gated()
    batcher = await make(engine, instances=2)
    running = [asyncio.ensure_future(batcher.run(rows(1)))]
    await until(lambda: engine.inside == 1)
    running.append(asyncio.ensure_future(batcher.run(rows(2))))
    await until(lambda: engine.inside == 2)
    stopping = asyncio.ensure_future(batcher.stop())
    await until(lambda: all(f.done() for f in running))
    assert all(f.exception() is not None for f in running)  # Draining: answered, not left waiting
    engine.release_one()
    engine.release_one()
    await stopping


def test_default_layout_serves_seeded_images_identically_alone_and_under_load(tmp_path: Path) -> None:
    """The per-host default (here: as many instances as cores) gives the same bytes for a seed, whatever batch or
    instance ran it: onnxruntime's CPU rows do not depend on the batch, nor on which thread ran it."""
    write_generator(tmp_path, "dcgan", dcgan=True)
    with running_server(tmp_path, {"GANSERVE_INSTANCES": "0"}) as server:
        alone = httpx.post(f"{server.url}/v1/models/dcgan/generate", json={"n": 1, "seed": 7}, timeout=30).json()

        def burst(seed: int) -> dict[str, object]:
            return httpx.post(f"{server.url}/v1/models/dcgan/generate", json={"n": 8, "seed": seed}, timeout=30).json()

        results: list[dict[str, object]] = []
        threads = [threading.Thread(target=lambda s=s: results.append(burst(s))) for s in range(0, 64, 8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        metrics = httpx.get(f"{server.url}/metrics").text
    same = next(r for r in results if r["images"][0]["seed"] == 0)  # type: ignore[index]
    assert same["images"][7]["png"] == alone["images"][0]["png"]  # type: ignore[index]
    assert 'ganserve_batch_size_items_sum{model="dcgan"} 65.0' in metrics  # every image ran exactly once
