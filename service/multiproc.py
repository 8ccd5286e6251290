"""Prometheus metrics across worker processes (`GANSERVE_WORKERS` > 1).

    with shared_metrics_dir(settings.workers):      # in `ganserve serve`, before uvicorn starts the workers
        uvicorn.run(..., workers=settings.workers)

Each worker is its own process with its own collectors, and a scrape reaches one of them at random. So with
more than one worker, `ganserve serve` gives the workers a private directory (PROMETHEUS_MULTIPROC_DIR, set
before they start, wiped at start and removed at exit) where prometheus_client keeps every value in a small
memory-mapped file per process; `/metrics`, whichever worker answers, reads them all (`render`):

- counters and histograms are summed over every worker that ever ran, so a dead worker's images still count;
- gauges say how they combine (`multiprocess_mode` in `service.metrics`): queue depth and workers are summed
  over live workers, model info is the max over live workers. A worker that died (even by SIGKILL) is dropped
  from live gauges at the next scrape, by process ID.

What multiprocess mode cannot do: per-worker series (they are summed away), `_created` samples, process or
Python collectors (process_cpu_seconds_total etc.), summaries' quantiles, Info/Enum metrics; and every
process writes a file per metric type, so a scrape reads O(workers) files. Process IDs are the key, so the
directory must be private to one server (not shared between containers).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def active() -> bool:
    """Whether this process keeps its metrics in the shared directory (decided when it started)."""
    return bool(os.environ.get(ENV))


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[Path | None]:
    """For several workers, a wiped directory in PROMETHEUS_MULTIPROC_DIR while the block runs; else nothing.

    An operator's own PROMETHEUS_MULTIPROC_DIR is used (and its metric files wiped); otherwise a private
    temporary directory is made and removed afterwards.
    """
    if workers <= 1:
        yield None
        return
    given = os.environ.get(ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="ganserve-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous run's values would be summed into this one's
        stale.unlink()
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)
            os.environ.pop(ENV, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_workers(path: str) -> list[int]:
    """Drop the live-gauge files of processes that are gone; returns their IDs."""
    from prometheus_client import multiprocess

    dead = sorted(
        {int(m[1]) for name in os.listdir(path) if (m := _LIVE_FILE.fullmatch(name)) and not _alive(int(m[1]))}
    )
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return dead


def render() -> bytes:
    """Every worker's metrics, combined, in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    path = os.environ[ENV]
    forget_dead_workers(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
