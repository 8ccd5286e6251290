"""The images' HEALTHCHECK script against a real replica: healthy while ready, unhealthy from SIGTERM on."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from tests.deploy.repo import DEPLOY
from tests.support.server import Server


def healthcheck(replica: Server) -> subprocess.CompletedProcess[str]:
    # A proxy in the environment must not capture the probe (the script ignores proxies).
    env = {**os.environ, "GANSERVE_PORT": replica.url.rsplit(":", 1)[1], "http_proxy": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "healthcheck.py")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )


async def test_healthy_only_while_ready(models_dir: Path, start_server: Callable[..., Server]) -> None:
    replica = start_server(models_dir)
    assert healthcheck(replica).returncode == 0
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        # The replica has accepted the request (headers in) but waits for the rest of its body: it is in flight
        # until we release it, which keeps the replica draining for as long as the test needs.
        yield b'{"n": 1, '
        await release.wait()
        yield b'"seed": 7}'

    async with httpx.AsyncClient(base_url=replica.url, timeout=10.0) as client:
        pending = asyncio.create_task(
            client.post("/v1/models/gen/generate", content=slow_body(), headers={"content-type": "application/json"})
        )
        # A round trip on another connection after the slow request's headers went out: by then they are in.
        await asyncio.sleep(0)
        await client.get("/v2/health/live")
        replica.terminate()
        async with asyncio.timeout(10):
            while (await client.get("/v2/health/ready")).status_code == 200:
                await asyncio.sleep(0.01)
        draining = await asyncio.to_thread(healthcheck, replica)
        still_running = replica.process.poll() is None
        release.set()
        answered = await pending
    assert still_running and re.search(r"draining: .* inflight=1\b", replica.log()), replica.log()
    assert draining.returncode == 1 and "503" in draining.stderr
    assert answered.status_code == 200  # the request it had accepted was still answered
    assert replica.wait() == 0
    gone = healthcheck(replica)
    assert gone.returncode == 1 and "not ready" in gone.stderr
