"""nginx (the repo's configuration) in front of two real `ganserve serve` replicas, under steady load.

- both replicas serve traffic (each one's own /metrics counters move);
- SIGTERM to one replica in the middle of the load loses no request;
- SIGKILL to one replica fails at most the requests that were inside it at that instant (printed).

Run alone:  python -m pytest -m nginx tests/deploy/test_failover.py -s
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.balancer import Balancer, nginx_binary
from tests.deploy.load import Load
from tests.support.server import Server, free_port

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx binary not installed (apt-get install nginx)"),
]

MODEL = "gen"
CONCURRENCY = 8
# Requests a replica must answer before a phase counts as "under load".
SERVED = 40
REPLICA_ENV = {
    "GANSERVE_DRAIN_TIMEOUT_S": "10",
    # Requests that queue behind a running batch wait up to 100 ms for companions: a signal sent as soon as a
    # replica's queue fills lands on work in progress.
    "GANSERVE_MAX_QUEUE_DELAY_MS": "100",
    "GANSERVE_INTRA_OP_THREADS": "1",
}


@dataclass
class Cluster:
    replicas: list[Server]
    lb: Balancer

    @property
    def generate_url(self) -> str:
        return f"{self.lb.url}/v1/models/{MODEL}/generate"


@pytest.fixture
def cluster(tmp_path: Path, models_dir: Path, start_server: Callable[..., Server]) -> Iterator[Cluster]:
    replicas = [start_server(models_dir, REPLICA_ENV, log_dir=tmp_path) for _ in range(2)]
    with Balancer(tmp_path / "nginx", free_port(), [r.url.removeprefix("http://") for r in replicas]) as lb:
        yield Cluster(replicas, lb)


async def sample_sum(client: httpx.AsyncClient, replica: Server, name: str, **labels: str) -> float:
    """The sum of the replica's own /metrics samples called `name` with these labels."""
    text = (await client.get(replica.url + "/metrics")).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


async def served(client: httpx.AsyncClient, replica: Server) -> int:
    """Generate requests this replica answered with 200."""
    return int(
        await sample_sum(client, replica, "ganserve_request_duration_seconds_count", endpoint="generate", status="200")
    )


async def until_work_just_arrived(client: httpx.AsyncClient, replica: Server, timeout: float = 30.0) -> None:
    """Return right after the replica's batch queue goes from empty to holding items: requests it accepted and
    will hold for up to GANSERVE_MAX_QUEUE_DELAY_MS. (Or after it stayed non-empty for a while: never idle.)"""
    pattern = re.compile(r"^ganserve_queue_items\{[^}]*\} (\S+)$", re.MULTILINE)
    deadline = time.monotonic() + timeout
    seen_empty, busy_polls = False, 0
    while time.monotonic() < deadline:
        text = (await client.get(replica.url + "/metrics")).text
        if sum(float(v) for v in pattern.findall(text)) == 0:
            seen_empty, busy_polls = True, 0
            continue
        if seen_empty and busy_polls == 0:
            return  # a batch window just opened
        busy_polls += 1
        if busy_polls >= 5:
            return  # never idle: any moment is mid-work
    raise AssertionError("timed out waiting for queued work on the replica")


async def until(condition_name: str, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {condition_name}")
        await asyncio.sleep(0.1)


async def until_each_serves(client: httpx.AsyncClient, replicas: list[Server], more: int) -> list[int]:
    """Wait until every replica in `replicas` answered `more` requests beyond its count now; return the counts."""
    start = [await served(client, r) for r in replicas]

    async def enough() -> bool:
        return all([await served(client, r) >= s + more for r, s in zip(replicas, start, strict=True)])

    await until(f"each replica answered {more} more requests", enough)
    return [await served(client, r) for r in replicas]


async def until_exited(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    async def exited() -> bool:
        return process.poll() is not None

    await until("the replica exited", exited, timeout)
    return process.returncode


def upstream_errors(lb: Balancer, replica: Server) -> dict[str, int]:
    """nginx's error log about `replica`: requests cut inside it, and connections it refused."""
    address = replica.url.removeprefix("http://")
    lines = [line for line in lb.error_log().splitlines() if f'upstream: "http://{address}' in line]
    cut = [line for line in lines if re.search(r"prematurely closed|reset by peer|recv\(\) failed", line)]
    refused = [line for line in lines if "connect() failed" in line]
    return {"cut_mid_request": len(cut), "refused": len(refused)}


def retried(lb: Balancer) -> int:
    return sum(1 for entry in lb.access_log() if "," in entry["upstream"])


async def test_sigterm_mid_load_loses_no_request(cluster: Cluster) -> None:
    draining, survivor = cluster.replicas
    async with httpx.AsyncClient(timeout=5.0) as client, Load(cluster.generate_url, concurrency=CONCURRENCY) as load:
        before = await until_each_serves(client, cluster.replicas, SERVED)  # both replicas take traffic
        await until_work_just_arrived(client, draining)
        draining.terminate()
        status = await until_exited(draining.process)
        await until_each_serves(client, [survivor], SERVED)  # and the load goes on after it left
    failures = load.failures()
    inflight = re.search(r"draining: .* inflight=(\d+)", draining.log())
    print(
        f"\nSIGTERM: {len(load.outcomes)} requests, {len(failures)} failed; served before the signal "
        f"{before}; in flight at SIGTERM: {inflight[1] if inflight else '?'}; retried by nginx on the "
        f"other replica: {retried(cluster.lb)}; exit status {status}"
    )
    assert min(before) >= SERVED
    assert inflight and int(inflight[1]) >= 1, "the signal found nothing in flight: the drain was not exercised"
    assert failures == []
    assert status == 0
    # nginx would hide a dropped request by retrying it: its error log shows whether the draining replica cut any.
    assert upstream_errors(cluster.lb, draining)["cut_mid_request"] == 0
    assert "drain timeout" not in draining.log()


async def test_sigkill_mid_load_fails_at_most_the_requests_inside(cluster: Cluster) -> None:
    killed, survivor = cluster.replicas
    async with httpx.AsyncClient(timeout=5.0) as client, Load(cluster.generate_url, concurrency=CONCURRENCY) as load:
        await until_each_serves(client, cluster.replicas, SERVED)
        await until_work_just_arrived(client, killed)
        killed_at = time.monotonic()
        killed.process.send_signal(signal.SIGKILL)
        assert await until_exited(killed.process) == -signal.SIGKILL
        await until_each_serves(client, [survivor], SERVED)
    failures = load.failures()
    errors = upstream_errors(cluster.lb, killed)
    print(
        f"\nSIGKILL: {len(load.outcomes)} requests; inside the killed replica at that instant: "
        f"{errors['cut_mid_request']} (nginx error log); failed: {len(failures)}; retried on the survivor: "
        f"{retried(cluster.lb)}; refused connections afterwards: {errors['refused']}"
    )
    for failure in failures:
        print(f"  failed {failure.started - killed_at:+.3f} s after the kill: {failure.status} {failure.detail}")
    assert len(failures) <= errors["cut_mid_request"] <= CONCURRENCY
    # Only a request sent before the kill can have been inside the replica: everything after must succeed.
    assert all(f.started <= killed_at for f in failures)
