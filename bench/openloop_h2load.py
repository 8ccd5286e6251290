"""Open-loop load with h2load (Debian package nghttp2-client): new clients on a clock, one request each.

`h2load --rate R --rate-period P` opens R new connections every P whatever the answers do, so with as many
clients as requests (`-c N -n N`) every arrival is an independent client on its own connection, started on
schedule: the same load as bench/openloop.py's k6 run, from a C program. On a 2-core machine that matters: k6 (a
JavaScript virtual user per arrival) took 0.35-0.65 of the cores the service needed; h2load takes ~0.05.

h2load's period is whole milliseconds, so the rate is R per P ms with the smallest P that is within 1% of the
asked rate (the rate reached is reported). Latency is h2load's per-request log (request sent to end of answer;
the connect before it is reported apart: a loopback connect is ~0.1 ms). A client whose answer has not come
after the timeout is closed by h2load (`-T`) and counted as failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.h2load import h2load_binary
from bench.openloop import OpenLoopRun

MAX_PERIOD_MS = 100


def schedule(rate: float) -> tuple[int, int]:
    """(connections per period, period in ms) closest to `rate` per second, preferring short periods."""
    if rate * MAX_PERIOD_MS < 1000:  # slower than one a period: one connection every so many ms
        return 1, max(1, round(1000 / rate))
    best = (1, 1)
    for period in range(1, MAX_PERIOD_MS + 1):
        burst = max(1, round(rate * period / 1000))
        if abs(burst * 1000 / period - rate) < abs(best[0] * 1000 / best[1] - rate):
            best = (burst, period)
        if abs(best[0] * 1000 / best[1] - rate) <= 0.01 * rate:
            break
    return best


def run_h2load_open(run: OpenLoopRun) -> dict[str, Any]:
    """One open-loop run; the same counts as bench.openloop.run_k6, plus the rate reached and connect times."""
    burst, period_ms = schedule(run.rate)
    rate = burst * 1000 / period_ms
    clients = max(1, round(rate * run.duration_s))
    with tempfile.TemporaryDirectory(prefix="ganserve-h2load-") as tmp:
        body, log = Path(tmp, "body.json"), Path(tmp, "requests.tsv")
        body.write_text(f'{{"n": {run.images}}}')
        cmd = [h2load_binary(), "--h1", "-t", "1", "-c", str(clients), "-n", str(clients), "-r", str(burst),
               "--rate-period", f"{period_ms}ms", "-T", f"{max(1, round(run.timeout_s))}s", "-d", str(body),
               "-H", "content-type: application/json", "-H", "accept: application/json", "--log-file", str(log),
               f"{run.url}/v1/models/{run.model}/generate"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
        rows = [line.split("\t") for line in log.read_text().splitlines() if line] if log.is_file() else []
    counts = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    if proc.returncode != 0 or counts is None:
        raise RuntimeError(f"h2load exited {proc.returncode}: {out.strip()[-2000:]}")
    total, started = int(counts[1]), int(counts[2])
    statuses = [r[1] for r in rows]
    accepted = np.array([int(r[2]) for r in rows if r[1] == "200"], np.float64) / 1e3
    refused = sum(s in ("503", "429") for s in statuses)
    connect = re.search(r"time for connect:\s+(\S+)\s+(\S+)\s+(\S+)", out)

    def quantile(q: float) -> float | None:
        return float(np.percentile(accepted, q)) if accepted.size else None

    return {
        "target_rate": run.rate,
        "rate": rate,
        "seconds": clients / rate,  # the schedule's length: offered and goodput are per second of it
        "started": started,
        "dropped": total - started,
        "accepted": int(accepted.size),
        "refused": refused,
        "other": started - accepted.size - refused,  # other statuses, and clients closed at the timeout
        "accepted_ms": {"p50": quantile(50), "p90": quantile(90), "p99": quantile(99), "max": quantile(100)},
        "connect": {"min": connect[1], "max": connect[2], "mean": connect[3]} if connect else None,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
