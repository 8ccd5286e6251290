"""Drive closed-loop load with wrk (Debian package `wrk`) and return what it measured, plus its own CPU time.

Each wrk connection sends its next request as soon as the previous answer arrives, so `connections` is the number
of concurrent clients. wrk's CPU time is read from the kernel (wait4's rusage), so a reader can tell whether the
load generator, rather than the service, was the bottleneck.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("generate.lua")
MARKER = "BENCH_JSON "


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result."""


@dataclass(frozen=True)
class WrkRun:
    """One wrk invocation against the generate endpoint."""

    url: str  # http://127.0.0.1:PORT
    model: str
    images: int  # per request
    connections: int
    duration_s: float
    threads: int = 2
    limit_per_thread: int = 0  # 0: run for duration_s; else stop each thread after this many responses
    timeout_s: float = 60.0  # wrk drops slower answers from its histogram, so keep this above any deadline
    accept: str = "application/json"
    fmt: str = ""  # the body's "format" field (pictures inside a JSON answer); "" sends none
    script: Path = SCRIPT  # another script (bench/infer.lua) takes `script_args` instead of model/images/limit
    script_args: tuple[str, ...] | None = None


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk not found: install the Debian package (apt-get install -y wrk)")
    return path


def run_wrk(run: WrkRun) -> dict[str, Any]:
    """Run wrk once; return its summary with latency in microseconds, statuses, and its CPU seconds."""
    threads = max(1, min(run.threads, run.connections))
    cmd = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{run.connections}",
        f"-d{max(1, round(run.duration_s))}s",
        f"--timeout={max(1, round(run.timeout_s))}s",
        "-s",
        str(run.script),
        run.url,
        "--",
        *(run.script_args or (run.model, str(run.images), str(run.limit_per_thread), run.accept, run.fmt)),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:  # wrk writes little to stderr, so reading one pipe after the other cannot block
        out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # reaps wrk and returns its CPU time
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise WrkError(f"wrk exited {proc.returncode}: {err.strip() or out.strip()}")
    line = next((ln for ln in out.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise WrkError(f"wrk printed no result line:\n{out}\n{err}")
    result: dict[str, Any] = json.loads(line[len(MARKER) :])
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["threads"] = threads
    return result
