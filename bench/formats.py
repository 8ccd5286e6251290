"""Serving at real image sizes: a 64x64 RGB generator answered in PNG, JPEG and raw tensors, against the engine.

    python -m bench --suite formats     # this section alone (~2 min); a full `python -m bench` runs it too

One server (the run's common settings) serves the 64x64 RGB reference generator (bench/model_rgb.py, built on
first use). For each (images per request, clients) in `cfg.format_points` and each representation in
`cfg.formats` (png and jpeg: JSON answers whose pictures are in that format; raw: `Accept: application/x-npy`),
wrk drives closed-loop load. Each point records images/s; onnxruntime alone at the request size and at the
mean batch the service formed, measured right after the point; CPU seconds per image in each stage, read per
thread from /proc (event loop, inference, encode); and the batch-size distribution from /metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.direct import measure_direct
from bench.prometheus import read_histogram
from bench.server import Server
from bench.sweep import BATCH, REFUSAL, _wait_idle
from bench.wrk import WrkRun, run_wrk

# name -> (Accept, body "format")
REPRESENTATIONS = {
    "png": ("application/json", "png"),
    "jpeg": ("application/json", "jpeg"),
    "webp": ("application/json", "webp"),
    "raw": ("application/x-npy", ""),
}
ENGINE_S = 2.0  # onnxruntime alone, per batch size, beside each point


def engine(version_dir: Path, batch: int, seconds: float, provider: str) -> dict[str, Any]:
    """onnxruntime alone at `batch`: the better of its default session (spinning) and the service's (no spinning)."""
    rows = [measure_direct(version_dir, [batch], seconds, 0, provider, spinning)[0] for spinning in (True, False)]
    return max(rows, key=lambda r: r["images_per_s"])


def measure(server: Server, cfg: BenchConfig, model: str, fmt: str, images: int, clients: int) -> dict[str, Any]:
    accept, field = REPRESENTATIONS[fmt]
    before_h, before_cpu = read_histogram(server.metrics(), BATCH, {"model": model}), server.stage_cpu()
    wrk = run_wrk(WrkRun(server.url, model, images, clients, cfg.duration_s, cfg.wrk_threads, accept=accept,
                         fmt=field))  # fmt: skip
    after_cpu = server.stage_cpu()
    _wait_idle(server, model)
    batches = read_histogram(server.metrics(), BATCH, {"model": model}) - before_h
    seconds = wrk["duration_us"] / 1e6
    statuses: dict[str, int] = wrk["statuses"]
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    served = ok * images
    cpu = {stage: after_cpu[stage] - before_cpu[stage] for stage in after_cpu}
    lat = wrk["latency_us"]["percentiles"]
    return {
        "format": fmt, "accept": accept, "body_format": field or None,
        "images_per_request": images, "concurrency": clients, "seconds": seconds,
        "requests": sum(statuses.values()), "statuses": statuses,
        "refused": sum(v for k, v in statuses.items() if k in REFUSAL),
        "images_per_s": served / seconds,
        "bytes_per_image": wrk["bytes"] / served if served else None,  # on the wire: HTTP headers included
        "latency_ms": {k: v / 1e3 for k, v in lat.items()},
        "cpu_ms_per_image": {k: 1e3 * v / served if served else None for k, v in cpu.items()}
                            | {"total": 1e3 * sum(cpu.values()) / served if served else None},
        "batch_size": {"batches": int(batches.count), "mean": batches.mean, "histogram": batches.per_bucket()},
    }  # fmt: skip


def run_formats(cfg: BenchConfig, models_dir: Path, model: str, log: Any) -> dict[str, Any]:
    version_dir = models_dir / model / "1"
    provider = cfg.settings.get("GANSERVE_PROVIDER", "cpu")
    direct = {
        b: engine(version_dir, b, cfg.direct_s, provider) for b in sorted({1, 64, *(i for i, _ in cfg.format_points)})
    }
    for b, r in direct.items():
        log(f"  direct {model} batch {b:>3}: {r['images_per_s']:8.1f} img/s")
    points = []
    with Server(models_dir, cfg.settings, model, cfg.log_dir / f"{cfg.out.name}.formats.log") as server:
        for fmt in cfg.formats:  # warm-up: every answer path once, not measured
            accept, field = REPRESENTATIONS[fmt]
            run_wrk(WrkRun(server.url, model, 4, 4, cfg.warmup_s, cfg.wrk_threads, accept=accept, fmt=field))
        _wait_idle(server, model)
        for images, clients in cfg.format_points:
            for fmt in cfg.formats:
                p = measure(server, cfg, model, fmt, images, clients)
                mean = p["batch_size"]["mean"] or 1.0
                seconds = min(cfg.direct_s, ENGINE_S)
                p["engine_request_batch"] = engine(version_dir, images, seconds, provider)
                p["engine_mean_batch"] = engine(version_dir, max(1, round(mean)), seconds, provider)
                log(f"  {fmt:>5} n={images:<3} c={clients:<3} {p['images_per_s']:8.1f} img/s "
                    f"(engine {p['engine_request_batch']['images_per_s']:.0f} at batch {images}, "
                    f"{p['engine_mean_batch']['images_per_s']:.0f} at the mean batch {mean:.1f}) "
                    f"p99 {p['latency_ms']['99']:.1f} ms  cpu/img {p['cpu_ms_per_image']}")  # fmt: skip
                points.append(p)
    return {"model": model, "direct": list(direct.values()), "points": points}
