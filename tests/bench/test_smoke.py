"""The benchmark end to end, scaled down: a real `ganserve serve` process, real wrk, a tiny model.

Checks the harness (every figure is present and consistent), never the speed: timing assertions would be flaky.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.__main__ import BLOCK_END, BLOCK_START, run, update_docs, write_outputs
from bench.config import BATCHING, NO_BATCHING, BenchConfig
from tests.support.models import write_model_repo

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install -y wrk)")


def test_one_point_per_configuration_yields_every_figure(tmp_path: Path) -> None:
    cfg = BenchConfig(models_dir=write_model_repo(tmp_path / "models"), model="gen", out=tmp_path / "out",
                      concurrencies=[2], sizes=[3], duration_s=1, warmup_s=1, direct_batches=[1, 3],
                      direct_s=0.2, soak_requests=300, soak_warmup_requests=100, soak_concurrency=2,
                      log_dir=tmp_path / "logs", suite="sweep")  # fmt: skip
    cfg.validate()
    results = run(cfg, "pytest", log=lambda _: None)
    table = write_outputs(results, cfg.out)

    # onnxruntime's defaults (spinning) and the service's options (no spinning), at the start and at the end
    assert [(r["batch"], r["spinning"], r["when"]) for r in results["direct"]] == [
        (b, spin, when) for when in ("start", "end") for spin in (False, True) for b in (1, 3)
    ]
    assert all(r["images_per_s"] > 0 for r in results["direct"])
    assert [c["name"] for c in results["configs"]] == [BATCHING, NO_BATCHING]
    for config in results["configs"]:
        (point,) = config["points"]
        assert point["statuses"].get("200", 0) == point["requests"] > 0
        assert point["images_per_s"] == pytest.approx(3 * point["ok_per_s"])
        assert point["errors"] == point["refused"] == 0
        assert point["latency_ms"]["50"] <= point["latency_ms"]["99"] <= point["latency_ms"]["max"]
        assert point["server_cpu_s"] > 0 and point["wrk_cpu_s"] > 0
        assert point["ceiling"]["batch"] == 3 and point["ceiling"]["images_per_s"] > 0  # the engine, just before
        # the batch sizes read back from /metrics account for every image served in the point
        batches = point["batch_size"]
        assert batches["batches"] >= 1 and sum(batches["histogram"].values()) == batches["batches"]
        assert config["server_peak_rss_mb"] > 0
    off = results["configs"][1]["points"][0]["batch_size"]
    assert off["mean"] == 1.0  # GANSERVE_MAX_BATCH_SIZE=1 really turned batching off
    assert results["soak"]["requests"] >= 300 and results["soak"]["rss_ratio"] > 0
    assert len(results["targets"]) == 9  # issue 5's six, and issue 10's three formats (not measured here)
    assert "formats" not in results

    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["configs"][0]["points"][0]["requests"] == results["configs"][0]["points"][0]["requests"]
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")
    assert "| batching | 3 | 2 |" in table


def test_the_formats_section_compares_each_answer_with_the_engine(tmp_path: Path) -> None:
    models = write_model_repo(tmp_path / "models")
    cfg = BenchConfig(models_dir=models, model="gen", out=tmp_path / "out", duration_s=1, warmup_s=1, direct_s=0.2,
                      log_dir=tmp_path / "logs", suite="formats", format_models_dir=models, format_model="gen",
                      format_points=[(3, 2)], formats=["jpeg", "raw"])  # fmt: skip
    cfg.validate()
    results = run(cfg, "pytest", log=lambda _: None)
    table = write_outputs(results, cfg.out)
    assert results["configs"] == [] and "soak" not in results
    points = results["formats"]["points"]
    assert [p["format"] for p in points] == ["jpeg", "raw"]
    for p in points:
        assert p["statuses"].get("200", 0) == p["requests"] > 0 and p["images_per_s"] > 0
        assert p["engine_request_batch"]["batch"] == 3 and p["engine_mean_batch"]["images_per_s"] > 0
        cpu = p["cpu_ms_per_image"]
        assert (
            cpu["encode"] > 0
            and cpu["event_loop"] > 0
            and cpu["total"] == pytest.approx(cpu["event_loop"] + cpu["inference"] + cpu["encode"])
        )
        assert sum(p["batch_size"]["histogram"].values()) == p["batch_size"]["batches"] >= 1
    raw = points[1]
    assert raw["bytes_per_image"] >= 64  # (3, 8, 8, 1) uint8 per request, plus the .npy and HTTP headers
    assert "| jpeg | 3 | 2 |" in table and "64x64 RGB, 8 clients x 16 images, png" in table


def test_docs_block_is_replaced_and_the_rest_of_the_page_kept(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "performance.md"
    page.parent.mkdir()
    page.write_text(f"intro\n{BLOCK_START}\nold table\n{BLOCK_END}\noutro\n")
    update_docs(page, "| new | table |\n", tmp_path / "bench" / "results" / "latest")
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "(../bench/results/latest.png)" in text and "| new | table |" in text
