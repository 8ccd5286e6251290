"""bench.targets turns one run's figures into issue 5's and issue 10's verdicts, each a ratio measured in that run."""

from __future__ import annotations

from typing import Any

from bench.config import BATCHING, NO_BATCHING
from bench.targets import evaluate


def _point(n: int, c: int, ok_per_s: float, p50: float, p99: float, **extra: Any) -> dict[str, Any]:
    return {"images_per_request": n, "concurrency": c, "ok_per_s": ok_per_s, "images_per_s": ok_per_s * n,
            "latency_ms": {"50": p50, "99": p99}, "accepted_latency_ms": {"p99": p99}, "errors": 0,
            "refused": 0, "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}} | extra  # fmt: skip


def _formats(png: float, jpeg: float, raw: float) -> dict[str, Any]:
    """The 8 clients x 16 images points of the formats section, against an engine of 1000 img/s at batch 16."""
    return {"points": [{"format": f, "images_per_request": 16, "concurrency": 8, "images_per_s": v,
                        "engine_request_batch": {"images_per_s": 1000.0}}
                       for f, v in (("png", png), ("jpeg", jpeg), ("raw", raw))]}  # fmt: skip


def _results(on_64: float, off_64: float, big: float, lone_p50: float, crowd_errors: int = 0) -> dict[str, Any]:
    on = [_point(1, 1, 500, lone_p50, 2 * lone_p50), _point(1, 64, on_64, 20, 40),
          _point(64, 16, big / 64, 300, 400), _point(1, 256, on_64, 80, 150, errors=crowd_errors),
          _point(64, 256, big / 64, 1500, 3000, refused=900)]  # fmt: skip
    off = [_point(1, 64, off_64, 30, 60)]
    return {
        "direct": [
            {"batch": 1, "images_per_s": 3000, "p50_ms": 0.3, "threads": 0},
            {"batch": 64, "images_per_s": 3600, "p50_ms": 17.8, "threads": 0},
        ],
        "configs": [
            {"name": BATCHING, "deadline_ms": 10_000, "points": on},
            {"name": NO_BATCHING, "deadline_ms": 10_000, "points": off},
        ],
        "soak": {"rss_ratio": 1.02, "rss_after_warmup_mb": 100.0, "rss_after_mb": 102.0, "requests": 100_000},
        "formats": _formats(png=850, jpeg=950, raw=990),
    }


def test_a_run_that_meets_every_target_passes_them_all() -> None:
    verdicts = evaluate(_results(on_64=2800, off_64=1000, big=3300, lone_p50=1.1))
    assert len(verdicts) == 9
    assert all(v["pass"] for v in verdicts), verdicts


def test_misses_are_reported_with_the_measured_ratio() -> None:
    verdicts = {v["target"]: v for v in evaluate(_results(on_64=1300, off_64=1000, big=2900, lone_p50=1.5,
                                                          crowd_errors=3))}  # fmt: skip
    assert verdicts["64 clients x 1 image: batching on vs off"]["pass"] is False
    assert verdicts["64 clients x 1 image: batching on vs off"]["measured"].startswith("1.30x")
    assert verdicts["64-image requests vs direct batch 64"]["pass"] is False  # 2900 / 3600 = 0.81
    assert verdicts["1 client: p50 latency"]["pass"] is False  # 1.5 ms > 0.3 + 1 ms
    assert verdicts["256 clients: only 503 refusals, accepted p99 within deadline"]["pass"] is False


def test_format_targets_compare_each_answer_with_the_engine_at_batch_16() -> None:
    results = _results(on_64=2800, off_64=1000, big=3300, lone_p50=1.1) | {"formats": _formats(790, 905, 880)}
    verdicts = {v["target"].rsplit(", ", 1)[1]: v for v in evaluate(results) if v["target"].startswith("64x64")}
    assert {k: v["pass"] for k, v in verdicts.items()} == {
        "png vs direct batch 16": False,
        "jpeg vs direct batch 16": True,
        "raw vs direct batch 16": False,
    }
    assert verdicts["png vs direct batch 16"]["measured"] == "0.79x (790 vs 1000 img/s)"


def test_targets_not_measured_say_so_instead_of_passing() -> None:
    results = _results(on_64=2800, off_64=1000, big=3300, lone_p50=1.1)
    del results["soak"], results["formats"]
    results["configs"] = results["configs"][:1]
    verdicts = {v["target"]: v["pass"] for v in evaluate(results)}
    assert verdicts["memory after 100k requests"] is None
    assert verdicts["64 clients x 1 image: batching on vs off"] is None
    assert verdicts["64x64 RGB, 8 clients x 16 images, png vs direct batch 16"] is None


def test_the_ceiling_averages_start_and_end_and_takes_the_best_thread_setting() -> None:
    results = _results(on_64=2800, off_64=1000, big=3300, lone_p50=1.1)
    results["direct"] = [
        {"batch": 64, "threads": 0, "when": "start", "images_per_s": 4000, "p50_ms": 16.0},
        {"batch": 64, "threads": 0, "when": "end", "images_per_s": 3000, "p50_ms": 21.0},  # load rose meanwhile
        {"batch": 64, "threads": 1, "when": "start", "images_per_s": 2000, "p50_ms": 32.0},
        {"batch": 64, "threads": 1, "when": "end", "images_per_s": 2000, "p50_ms": 32.0},
        {"batch": 1, "threads": 0, "when": "start", "images_per_s": 3000, "p50_ms": 0.3},
    ]
    verdict = next(v for v in evaluate(results) if v["target"] == "64-image requests vs direct batch 64")
    assert "vs 3500 img/s" in verdict["measured"] and verdict["pass"] is True  # 3300 / mean(4000, 3000)
