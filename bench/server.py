"""Start the service exactly as users do (`ganserve serve`, a real uvicorn process) and watch its resources.

CPU time and memory come from /proc for the server process and every descendant (uvicorn workers), so the
figures hold for `GANSERVE_WORKERS` > 1 as well. Linux only, like wrk.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")


class ServerError(RuntimeError):
    """The service did not start, did not become ready, or does not serve the model."""


@dataclass(frozen=True)
class ProcStats:
    cpu_s: float  # user + system, summed over the process tree
    rss_bytes: int  # resident now, summed
    peak_rss_bytes: int  # VmHWM (high-water mark), summed: an upper bound on the tree's peak


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(p) for p in task.read_text().split()]
    return kids


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        try:
            todo += _children(p)
        except OSError:
            continue  # exited meanwhile
    return tree


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


ENCODE_THREAD = "gs-encode"  # service.pipeline names its encoder threads so


def stage_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far per stage, from every thread of the process tree: `event_loop` (each process's main
    thread: HTTP, routing, JSON parsing, the batcher's scheduling), `encode` (the encode pool's named threads) and
    `inference` (every other thread: the model's inference thread and onnxruntime's pool)."""
    out = {"event_loop": 0.0, "inference": 0.0, "encode": 0.0}
    for p in process_tree(pid):
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
                comm = (task / "comm").read_text().strip()
            except OSError:
                continue  # exited meanwhile
            stage = "event_loop" if int(task.name) == p else "encode" if comm.startswith(ENCODE_THREAD) else "inference"
            out[stage] += (int(stat[11]) + int(stat[12])) / CLK_TCK
    return out


def proc_stats(pid: int) -> ProcStats:
    cpu = rss = hwm = 0.0
    for p in process_tree(pid):
        try:
            # fields after the parenthesised command name; utime and stime are the 14th and 15th overall
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(stat[11]) + int(stat[12])) / CLK_TCK
            rss += _status_kib(p, "VmRSS") * 1024
            hwm += _status_kib(p, "VmHWM") * 1024
        except OSError:
            continue
    return ProcStats(cpu_s=cpu, rss_bytes=int(rss), peak_rss_bytes=int(hwm))


class Server:
    """`with Server(models_dir, env) as srv:` runs `ganserve serve` on a free loopback port until the block ends."""

    # `ganserve serve` without needing the console script installed; the same code path
    COMMAND: ClassVar[list[str]] = [sys.executable, "-m", "ganserve.cli", "serve"]

    def __init__(self, models_dir: Path, env: dict[str, str], model: str, log_path: Path) -> None:
        self.models_dir = models_dir
        self.env = env
        self.model = model
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.grpc = f"127.0.0.1:{free_port()}"  # servers run side by side: each needs its own gRPC port too
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> Self:
        cmd = [
            *self.COMMAND,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--models-dir",
            str(self.models_dir),
            "--grpc-port",
            self.grpc.rsplit(":", 1)[1],
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GANSERVE_")} | self.env
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # closed when the server stops
        self._proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._log = log
        try:
            self._wait_ready(timeout_s=120.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise ServerError(f"server exited with {self._proc.returncode}; log: {self.log_path}")
                try:
                    if client.get(f"/v2/models/{self.model}/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerError(f"model {self.model!r} not ready after {timeout_s:.0f}s; log: {self.log_path}")

    def stats(self) -> ProcStats:
        return proc_stats(self.pid)

    def stage_cpu(self) -> dict[str, float]:
        return stage_cpu(self.pid)

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10.0).text

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)  # graceful drain, as in production
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()
        self._proc = None
