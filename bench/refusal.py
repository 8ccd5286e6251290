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
import sys
import threading
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from service.app import create_app
from service.batcher import Batcher
from service.logs import logging_config
from service.registry import ServedModel
from service.settings import Settings

REQUESTS = 20_000
BODY = b'{"n": 8}'


async def cpu_per_refusal(
    models_dir: Path, model: str, early: bool, requests: int = REQUESTS, access_log: bool = True
) -> dict[str, Any]:
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
            release.wait(60)
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
        statuses: dict[int, int] = {}

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
        release.set()
        await asyncio.gather(*futures, return_exceptions=True)
    assert set(statuses) == {503}, statuses
    return {
        "early_refusal": early,
        "requests": requests,
        "cpu_us": cpu / requests * 1e6,
        "wall_us": wall / requests * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.refusal", description=__doc__.splitlines()[0])
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--model", default="dcgan-mnist")
    p.add_argument("--requests", type=int, default=REQUESTS)
    p.add_argument("--no-access-log", dest="access_log", action="store_false", help="GANSERVE_ACCESS_LOG=false")
    args = p.parse_args(argv)
    with open(os.devnull, "w") as devnull:
        config = logging_config()  # the server's logging (one access line per answer), into /dev/null
        config["handlers"]["default"]["stream"] = devnull
        logging.config.dictConfig(config)
        return _report(args)


def _report(args: argparse.Namespace) -> int:
    rows = [
        asyncio.run(cpu_per_refusal(args.models_dir, args.model, early, args.requests, args.access_log))
        for early in (False, True)
    ]
    for row in rows:
        label = "early refusal" if row["early_refusal"] else "regular path "
        print(
            f"{label}: {row['cpu_us']:7.1f} us CPU per refusal ({row['wall_us']:.1f} us wall), {row['requests']} calls"
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
