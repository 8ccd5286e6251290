"""The memory check: resident size after 100,000 requests must stay within 10% of what it was after warm-up.

Leaks in a server show up as growth per request (unbounded caches, per-request objects kept alive by metrics or
futures), so the check counts requests, not seconds. wrk only knows durations (a thread told to stop after its share
of requests idles until the duration ends), so the requests are sent in chunks sized from the measured rate.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.config import BATCHING, BenchConfig
from bench.server import Server
from bench.wrk import WrkRun, run_wrk

CHUNK_S = 30.0  # longest single wrk run


def _drive(server: Server, cfg: BenchConfig, requests: int) -> dict[str, Any]:
    """Send at least `requests` one-image requests; return the totals (requests, statuses, seconds)."""
    threads = min(cfg.wrk_threads, cfg.soak_concurrency)
    sent, seconds, statuses, rate = 0, 0.0, Counter[str](), None
    while sent < requests:
        left = requests - sent
        duration = 2.0 if rate is None else min(CHUNK_S, max(2.0, 1.2 * left / rate))
        out = run_wrk(WrkRun(server.url, cfg.model, 1, cfg.soak_concurrency, duration, threads,
                             limit_per_thread=-(-left // threads)))  # fmt: skip
        if out["requests"] == 0:
            raise RuntimeError(f"the soak made no progress: {out}")
        sent += out["requests"]
        seconds += out["duration_us"] / 1e6
        statuses.update(out["statuses"])
        rate = out["requests"] / (out["duration_us"] / 1e6)
    return {"requests": sent, "seconds": seconds, "statuses": dict(statuses)}


def run_soak(cfg: BenchConfig, log: Any) -> dict[str, Any]:
    with Server(cfg.models_dir, cfg.env(BATCHING), cfg.model, cfg.log_dir / f"{cfg.out.name}.soak.log") as srv:
        warm = _drive(srv, cfg, cfg.soak_warmup_requests)
        after_warmup = srv.stats()
        load = _drive(srv, cfg, cfg.soak_requests)
        after = srv.stats()
    ratio = after.rss_bytes / after_warmup.rss_bytes
    result = {
        "config": BATCHING,
        "concurrency": cfg.soak_concurrency,
        "warmup_requests": warm["requests"],
        "requests": load["requests"],
        "statuses": load["statuses"],
        "seconds": load["seconds"],
        "rss_after_warmup_mb": after_warmup.rss_bytes / 2**20,
        "rss_after_mb": after.rss_bytes / 2**20,
        "peak_rss_mb": after.peak_rss_bytes / 2**20,
        "rss_ratio": ratio,
    }
    log(f"  soak: {load['requests']} requests in {result['seconds']:.0f}s, RSS {result['rss_after_warmup_mb']:.1f} "
        f"-> {result['rss_after_mb']:.1f} MiB (x{ratio:.3f})")  # fmt: skip
    return result
