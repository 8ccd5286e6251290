"""CPU per refusal inside the application: the early-refusal layer against the regular FastAPI path.

    python -m bench.refusal --models-dir models --model dcgan-mnist        # prints both, in microseconds

The real app (`create_app`) and model, in this process: the model's engine is held inside a batch and its queue
filled, so every request is refused; then the same generate request (`{"n": 8}`) goes through the ASGI app
REQUESTS times, with the layer and without it (GANSERVE_EARLY_REFUSAL). What is timed is the process's CPU time
(time.process_time) per call, so it covers everything the app does for a refusal (routing, middleware, the body,
the error, the metrics, the request ID and the access-log line, written as `ganserve serve` writes it, here to
/dev/null) but not uvicorn's HTTP parsing and socket writes, which are the same for both; the end-to-end cost
under load is in the overload benchmark's storm rows (`python -m bench.overload`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging.config
import os
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
import uvloop
from fastapi import FastAPI

from bench.server import free_port
from bench.wrk import WrkRun, run_wrk
from service.app import create_app
from service.batcher import Batcher
from service.logs import logging_config
from service.refusal_protocol import RefusingProtocol
from service.registry import ServedModel
from service.settings import Settings

REQUESTS = 20_000
BODY = b'{"n": 8}'
# end to end: (GANSERVE_EARLY_REFUSAL, uvicorn's HTTP protocol)
HTTP_PATHS: dict[str, tuple[bool, Any]] = {
    "regular path (httptools)": (False, "httptools"),
    "early refusal layer (httptools)": (True, "httptools"),
    "early refusal in the protocol": (True, RefusingProtocol),
}


@asynccontextmanager
async def held_app(models_dir: Path, model: str, early: bool, access_log: bool) -> AsyncIterator[FastAPI]:
    """The real app and model with the model's engine held inside a batch and its queue full."""
    settings = Settings(
        models_dir=models_dir,
        early_refusal=early,
        refusal_hold_max_s=0,  # the cost of a refusal itself; holding early returners is measured in the storm
        grpc_port=0,
        access_log=access_log,
        queue_capacity=64,
        max_images_per_request=64,
        max_batch_size=1,
        intra_op_threads=1,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        served: ServedModel = app.state.service.registry.get(model)
        release, entered = threading.Event(), threading.Event()

        def held(feeds: dict[str, np.ndarray]) -> np.ndarray:
            entered.set()
            release.wait(120)
            return served.runtime.run(feeds)

        # the model's batcher, rebuilt around the held engine (the lifespan stops whichever batcher is served)
        await served.batcher.stop()
        old = served.batcher
        served.batcher = batcher = Batcher(
            held, max_batch_size=1, max_queue_delay_s=0, capacity=old.capacity, metrics=served.metrics, name=old.name
        )
        await batcher.start()
        noise_dim = served.manifest.latent_dim or 1
        futures = [batcher.submit({"z": np.zeros((1, noise_dim), np.float32)}).future]
        await asyncio.to_thread(entered.wait, 10)
        futures.append(batcher.submit({"z": np.zeros((64, noise_dim), np.float32)}).future)
        assert batcher.full
        try:
            yield app
        finally:
            release.set()
            await asyncio.gather(*futures, return_exceptions=True)


async def cpu_per_refusal(
    models_dir: Path, model: str, early: bool, requests: int = REQUESTS, access_log: bool = True
) -> dict[str, Any]:
    """Through the ASGI app in this process, no HTTP."""
    statuses: dict[int, int] = {}
    async with held_app(models_dir, model, early, access_log) as app:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/v1/models/{model}/generate",
            "raw_path": b"",
            "query_string": b"",
            "root_path": "",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5000),
            "app": app,
            "headers": [
                (b"host", b"x"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": BODY, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        for _ in range(200):  # warm-up: imports, caches
            await app(dict(scope), receive, send)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert set(statuses) == {503}, statuses
    return {"path": "early refusal" if early else "regular", "requests": requests,
            "cpu_us": cpu / requests * 1e6, "wall_us": wall / requests * 1e6}  # fmt: skip


async def cpu_per_http_refusal(
    models_dir: Path, model: str, path: str, seconds: float, connections: int = 64, access_log: bool = True
) -> dict[str, Any]:
    """End to end: a real uvicorn server in this process (uvloop, httptools or ganserve's protocol) and wrk,
    a separate process, on keep-alive connections; this process's CPU time over the answers wrk counted."""
    early, http = HTTP_PATHS[path]
    async with held_app(models_dir, model, early, access_log) as app:
        config = uvicorn.Config(app, port=free_port(), http=http, lifespan="off", log_config=None, access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn.Server has a flag, no event)
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{config.port}"
        await asyncio.to_thread(run_wrk, WrkRun(url, model, 8, connections, 1, threads=1))  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        wrk = await asyncio.to_thread(run_wrk, WrkRun(url, model, 8, connections, seconds, threads=1))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server.should_exit = True
        await task
    answers = sum(wrk["statuses"].values())
    assert set(wrk["statuses"]) == {"503"}, wrk["statuses"]
    return {"path": path, "requests": answers, "cpu_us": cpu / answers * 1e6, "wall_us": wall / answers * 1e6,
            "per_s": answers / wall, "wrk_cpu_us": wrk["cpu_s"] / answers * 1e6}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.refusal", description=__doc__.splitlines()[0])
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--model", default="dcgan-mnist")
    p.add_argument("--requests", type=int, default=REQUESTS)
    p.add_argument("--no-access-log", dest="access_log", action="store_false", help="GANSERVE_ACCESS_LOG=false")
    p.add_argument("--http", action="store_true", help="end to end through uvicorn and wrk instead (needs wrk)")
    p.add_argument("--seconds", type=float, default=5.0, help="wrk's seconds per path and round, with --http")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds, with --http (medians are printed)")
    args = p.parse_args(argv)
    with server_logging_to_devnull():
        return _report(args)


@contextmanager
def server_logging_to_devnull() -> Iterator[None]:
    """The server's logging as `ganserve serve` sets it up (one access line per answer), into /dev/null."""
    with open(os.devnull, "w") as devnull:
        config = logging_config()
        config["handlers"]["default"]["stream"] = devnull
        logging.config.dictConfig(config)
        yield


def _report(args: argparse.Namespace) -> int:
    if args.http:
        rounds = [
            [
                uvloop.run(cpu_per_http_refusal(args.models_dir, args.model, path, args.seconds, 64, args.access_log))
                for path in HTTP_PATHS
            ]
            for _ in range(args.rounds)
        ]
        rows = [
            {**runs[0], **{k: statistics.median(r[k] for r in runs) for k in ("cpu_us", "wall_us", "per_s")}}
            for runs in zip(*rounds, strict=True)
        ]
    else:
        rows = [
            asyncio.run(cpu_per_refusal(args.models_dir, args.model, early, args.requests, args.access_log))
            for early in (False, True)
        ]
    for row in rows:
        print(f"{row['path']:<32}: {row['cpu_us']:7.1f} us CPU per refusal ({row['wall_us']:.1f} us wall)")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
