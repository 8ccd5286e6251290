"""The memory check: resident size after 100,000 requests must stay within 10% of what it was after warm-up.

Leaks in a server show up as growth per request (unbounded caches, per-request objects kept alive by metrics or
futures), so the check counts requests, not seconds: wrk stops each thread after its share.
"""

from __future__ import annotations

from typing import Any

from bench.config import BATCHING, BenchConfig
from bench.server import Server
from bench.wrk import WrkRun, run_wrk

# generous upper bound on wall time; wrk stops earlier, once every thread has its share of responses
MAX_SECONDS = 1800.0


def _drive(server: Server, cfg: BenchConfig, requests: int) -> dict[str, Any]:
    threads = min(cfg.wrk_threads, cfg.soak_concurrency)
    run = WrkRun(server.url, cfg.model, 1, cfg.soak_concurrency, MAX_SECONDS, threads,
                 limit_per_thread=-(-requests // threads))  # fmt: skip
    return run_wrk(run)


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
        "seconds": load["duration_us"] / 1e6,
        "rss_after_warmup_mb": after_warmup.rss_bytes / 2**20,
        "rss_after_mb": after.rss_bytes / 2**20,
        "peak_rss_mb": after.peak_rss_bytes / 2**20,
        "rss_ratio": ratio,
    }
    log(f"  soak: {load['requests']} requests in {result['seconds']:.0f}s, RSS {result['rss_after_warmup_mb']:.1f} "
        f"-> {result['rss_after_mb']:.1f} MiB (x{ratio:.3f})")  # fmt: skip
    return result
