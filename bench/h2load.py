"""Closed-loop gRPC load from h2load (Debian package nghttp2-client), a C load generator, as wrk is for HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.oip_requests import INFER


def h2load_binary() -> str:
    path = shutil.which("h2load")
    if path is None:
        raise RuntimeError("h2load not found: install the Debian package (apt-get install -y nghttp2-client)")
    return path


def run_h2load(target: str, body: Path, clients: int, duration_s: float, threads: int) -> dict[str, Any]:
    """Closed-loop gRPC calls with h2load; latency percentiles from its per-request log."""
    binary = h2load_binary()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.tsv"
        proc = subprocess.Popen(
            [
                binary,
                "-c",
                str(clients),
                "-m",
                "1",
                "-t",
                str(max(1, min(threads, clients))),
                "-D",
                str(max(1, round(duration_s))),
                "-d",
                str(body),
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                "--log-file",
                str(log),
                f"http://{target}{INFER}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # reaps h2load and returns its CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
        rows = [line.split("\t") for line in log.read_text().splitlines() if line] if log.exists() else []
    done = np.array([int(r[2]) for r in rows if r[1] == "200"], np.float64)
    if proc.returncode != 0 or not done.size:
        raise RuntimeError(f"h2load failed or got no answer:\n{out}")
    return {
        "requests": int(done.size),
        "latency_us": {"p50": float(np.percentile(done, 50)), "p99": float(np.percentile(done, 99))},
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
