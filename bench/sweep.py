"""The load sweep: for each service configuration, start the server and measure every (request size, clients) point.

A point's figures come from wrk (throughput, latency, statuses), from /proc (the service's CPU and memory over that
point alone) and from /metrics (the batch sizes formed during that point alone).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.config import BenchConfig
from bench.direct import ceiling
from bench.profile import Profiler, summarize
from bench.prometheus import Histogram, read_histogram
from bench.server import Server
from bench.wrk import WrkRun, run_wrk

REFUSAL = {"503", "429"}
ADJACENT_S = 2.0  # per session variant, before each load point
BATCH = "ganserve_batch_size_items"
# where a request's time goes, from the service's own histograms: mean per observation, and "busy" = total
# seconds observed per wall-clock second (1.0 = that stage ran back to back for the whole point)
STAGES = ("ganserve_queue_wait_seconds", "ganserve_inference_duration_seconds", "ganserve_encode_duration_seconds")


def _histograms(text: str, model: str) -> dict[str, Histogram]:
    return {name: read_histogram(text, name, {"model": model}) for name in (BATCH, *STAGES)}


def accepted_quantile(permille: list[int], refused_fraction: float, q: float) -> float:
    """Quantile q (0..1) of accepted requests' latency, from wrk's 0.1%-step percentiles of all requests.

    Refusals are answered at once, so they fill the bottom `refused_fraction` of the distribution; accepted
    request quantile q sits at overall quantile r + q (1 - r). Exact when every refusal is faster than every
    accepted request, which the queue-full path guarantees in practice.
    """
    p = (refused_fraction + q * (1.0 - refused_fraction)) * 1000.0
    lo = min(int(p), 999)
    frac = p - lo
    return permille[lo] * (1 - frac) + permille[lo + 1] * frac


def _wait_idle(server: Server, model: str, timeout_s: float = 30.0) -> None:
    """Let the queue drain between points: closed-loop clients stop, but what they queued still runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = server.metrics()
        queued = [ln for ln in text.splitlines() if ln.startswith("ganserve_queue_items{") and f'"{model}"' in ln]
        if all(float(ln.split()[-1]) == 0 for ln in queued):
            time.sleep(0.3)  # the last batch may still be running: the gauge counts queued items only
            return
        time.sleep(0.2)


def measure_point(
    server: Server, cfg: BenchConfig, images: int, clients: int, deadline_ms: float, profile_to: Path | None = None
) -> dict[str, Any]:
    before_m, before_s = _histograms(server.metrics(), cfg.model), server.stats()
    load = WrkRun(server.url, cfg.model, images, clients, cfg.duration_s, cfg.wrk_threads,
                  timeout_s=max(60.0, 3 * deadline_ms / 1000))  # fmt: skip
    if profile_to is None:
        wrk = run_wrk(load)
    else:
        with Profiler(server.pid, profile_to, cfg.duration_s):
            wrk = run_wrk(load)
    after_s = server.stats()
    _wait_idle(server, cfg.model)
    after_m = _histograms(server.metrics(), cfg.model)
    seconds = wrk["duration_us"] / 1e6
    # with several workers `ganserve serve` combines their metrics (Prometheus multiprocess mode), so one scrape
    # covers every worker and the differences below hold for any GANSERVE_WORKERS ("busy" is then summed over them)
    batches = after_m[BATCH] - before_m[BATCH]
    batch_size: dict[str, Any] = {
        "batches": int(batches.count),
        "mean": batches.mean,
        "histogram": batches.per_bucket(),
    }
    stages = {}
    for stage in STAGES:
        h = after_m[stage] - before_m[stage]
        stages[stage.removeprefix("ganserve_").removesuffix("_seconds")] = {
            "mean_ms": None if h.mean is None else h.mean * 1e3,
            "busy": h.sum / seconds,
        }
    statuses: dict[str, int] = wrk["statuses"]
    total = sum(statuses.values())
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    refused = sum(v for k, v in statuses.items() if k in REFUSAL)
    lat = wrk["latency_us"]
    # wrk answers 0 for the 100th percentile (its rank rounds past the last sample): the top is the max
    permille = [*lat["permille"][:-1], lat["max"]]
    accepted = {
        f"p{int(q * 100)}": accepted_quantile(permille, refused / total if total else 0.0, q) / 1e3
        for q in (0.5, 0.95, 0.99)
    }
    return {
        "images_per_request": images,
        "concurrency": clients,
        "seconds": seconds,
        "requests": total,
        "requests_per_s": total / seconds,
        "ok_per_s": ok / seconds,
        "images_per_s": ok * images / seconds,
        "statuses": statuses,
        "refused": refused,
        "errors": total - ok - refused,
        "socket_errors": {k: v for k, v in wrk["errors"].items() if k != "status"},
        "latency_ms": {k: v / 1e3 for k, v in lat["percentiles"].items()} | {"max": lat["max"] / 1e3},
        "accepted_latency_ms": accepted,
        "wrk_cpu_s": wrk["cpu_s"],
        "wrk_cpu_cores": wrk["cpu_s"] / seconds,
        "wrk_threads": wrk["threads"],
        "server_cpu_s": after_s.cpu_s - before_s.cpu_s,
        "server_cpu_cores": (after_s.cpu_s - before_s.cpu_s) / seconds,
        "server_cpu_ms_per_request": 1e3 * (after_s.cpu_s - before_s.cpu_s) / total if total else None,
        "server_rss_mb": after_s.rss_bytes / 2**20,
        "batch_size": batch_size,
        "stages": stages,
        "profile": None if profile_to is None else {"file": f"{profile_to}.txt"} | summarize(Path(f"{profile_to}.txt")),
    }


def warm_up(server: Server, cfg: BenchConfig) -> None:
    for images in cfg.sizes:
        run_wrk(WrkRun(server.url, cfg.model, images, max(1, min(16, 1024 // images)), cfg.warmup_s, cfg.wrk_threads))
    _wait_idle(server, cfg.model)


def run_configs(cfg: BenchConfig, log: Any) -> list[dict[str, Any]]:
    """Every configuration's server runs side by side (idle ones cost nothing) and each load point is measured
    for every configuration in turn, so a comparison between configurations spans seconds, not minutes: on a
    shared machine whose background load drifts, that keeps the ratios honest."""
    points: dict[str, list[dict[str, Any]]] = {name: [] for name in cfg.configs}
    with ExitStack() as stack:
        servers = {}
        for name in cfg.configs:
            log(f"service '{name}' {cfg.env(name)}")
            server = stack.enter_context(Server(cfg.models_dir, cfg.env(name), cfg.model,
                                                cfg.log_dir / f"{cfg.out.name}.{name}.log"))  # fmt: skip
            _check_model(server, cfg.model)
            servers[name] = server
        for server in servers.values():
            warm_up(server, cfg)
        for images in cfg.sizes:
            for clients in cfg.concurrencies:
                # the engine alone at this batch size, seconds before the service points it is compared with
                engine = max(ceiling(cfg, [images], min(cfg.direct_s, ADJACENT_S), f"before n={images} c={clients}"),
                             key=lambda r: r["images_per_s"])  # fmt: skip
                log(
                    f"  {'direct':>12} n={images:<3} {engine['images_per_s']:8.1f} img/s  p50 {engine['p50_ms']:.3f} ms"
                )
                for name, server in servers.items():
                    profile_to = None
                    if cfg.profile == (name, images, clients):
                        profile_to = cfg.out.with_name(f"{cfg.out.name}.profile-{name}-{images}-{clients}")
                    point = measure_point(server, cfg, images, clients, cfg.deadline_ms(name), profile_to)
                    point["ceiling"] = engine
                    log(_line(name, point))
                    points[name].append(point)
        stats = {name: server.stats() for name, server in servers.items()}
    return [{"name": name, "env": cfg.env(name), "deadline_ms": cfg.deadline_ms(name), "points": points[name],
             "server_peak_rss_mb": stats[name].peak_rss_bytes / 2**20, "server_cpu_s_total": stats[name].cpu_s}
            for name in cfg.configs]  # fmt: skip


def _line(name: str, p: dict[str, Any]) -> str:
    return (
        f"  {name:>12} n={p['images_per_request']:<3} c={p['concurrency']:<4} {p['requests_per_s']:8.1f} req/s "
        f"{p['images_per_s']:8.1f} img/s  p50 {p['latency_ms']['50']:7.2f} ms  p99 {p['latency_ms']['99']:8.2f} ms"
        f"  {p['statuses']}  batch {p['batch_size']['mean'] or 0:.1f}  "
        f"infer {p['stages']['inference_duration']['busy'] or 0:.2f}  srv {p['server_cpu_cores']:.2f} cores "
        f"{p['server_cpu_ms_per_request'] or 0:.2f} ms/req  wrk {p['wrk_cpu_cores']:.2f} cores"
    )


def _check_model(server: Server, model: str) -> None:
    info = httpx.get(f"{server.url}/v1/models/{model}", timeout=10.0)
    if info.status_code != 200:
        raise RuntimeError(f"the service does not serve {model!r}: {info.status_code} {info.text}")
