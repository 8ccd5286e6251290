"""Metrics across worker processes (service.multiproc): one scrape sees every worker's work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.multiproc import ENV, forget_dead_workers, shared_metrics_dir
from tests.service.test_api import samples
from tests.support.server import Server


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_dead_workers_leave_the_live_gauges(tmp_path: Path) -> None:
    gone, alive = dead_pid(), os.getpid()
    for name in (
        f"gauge_livesum_{gone}.db",
        f"gauge_livemax_{gone}.db",
        f"counter_{gone}.db",
        f"gauge_livesum_{alive}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_workers(str(tmp_path)) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{gone}.db", f"gauge_livesum_{alive}.db"]


def test_the_shared_directory_exists_only_for_several_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with shared_metrics_dir(1) as none:
        assert none is None and ENV not in os.environ
    with shared_metrics_dir(2) as private:
        assert private is not None and private.is_dir() and os.environ[ENV] == str(private)
    assert not private.exists() and ENV not in os.environ
    monkeypatch.setenv(ENV, str(tmp_path))  # an operator's own directory: used, wiped, kept
    (tmp_path / "counter_1.db").write_bytes(b"old run")
    (tmp_path / "notes.txt").write_text("not ours")
    with shared_metrics_dir(2) as given:
        assert given == tmp_path and not (tmp_path / "counter_1.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def metric(server: Server, name: str, **labels: str) -> float:
    return (
        samples(httpx.get(server.url + "/metrics").text, name, **labels)
        if labels
        else float(
            next(
                line.split()[1]
                for line in httpx.get(server.url + "/metrics").text.splitlines()
                if line.startswith(name + " ")
            )
        )
    )


def access_pids(server: Server) -> dict[int, int]:
    pids: dict[int, int] = {}
    for line in server.log().splitlines():
        entry = json.loads(line)
        if entry["logger"] == "ganserve.access" and entry["route"] == "/v1/models/{name}/generate":
            pids[entry["pid"]] = pids.get(entry["pid"], 0) + entry["images"]
    return pids


def test_two_workers_metrics_count_every_image_even_after_one_dies(start_server, models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_WORKERS": "2", "GANSERVE_LOG_FORMAT": "json"})
    images = 0
    for i in range(80):  # each call opens its own connection, which either worker may accept
        n = 1 + i % 3
        assert httpx.post(server.url + "/v1/models/gen/generate", json={"n": n}).status_code == 200
        images += n
        if i >= 9 and len(access_pids(server)) == 2:
            break
    deadline = time.monotonic() + 10  # a worker writes its access line just after the answer has gone out
    while sum((per_worker := access_pids(server)).values()) < images and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(per_worker) == 2 and sum(per_worker.values()) == images  # both served; the logs agree
    for _ in range(4):  # whichever worker answers the scrape, it reports both
        assert metric(server, "ganserve_images_total", model="gen") == images
        assert metric(server, "ganserve_workers") == 2 and metric(server, "ganserve_worker_starts_total") == 2
    os.kill(min(per_worker), signal.SIGKILL)  # uvicorn replaces it; its counts must stay, its gauges go
    deadline = time.monotonic() + 60
    while metric(server, "ganserve_worker_starts_total") < 3:
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)
    assert metric(server, "ganserve_workers") == 2
    assert metric(server, "ganserve_images_total", model="gen") == images
    assert (
        sum(
            samples(httpx.get(server.url + "/metrics").text, "ganserve_model_info", model=m)
            for m in ("gen", "cgen", "translate")
        )
        == 3
    )  # max over live workers, not a sum
