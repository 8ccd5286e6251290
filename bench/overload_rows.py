"""The overload benchmark's rows: one closed-loop (wrk) or open-loop (h2load or k6) load point against a running
server, with the service's and the load generator's CPU; and which load generators are installed."""

from __future__ import annotations

from typing import Any

from bench.h2load import h2load_binary
from bench.openloop import OpenLoopRun, k6_binary, run_k6
from bench.openloop_h2load import run_h2load_open
from bench.server import Server
from bench.sweep import accepted_quantile
from bench.wrk import WrkRun, run_wrk, wrk_binary

IMAGES = 8
CLIENT_TIMEOUT_S = 2.0

GENERATORS = {"h2load": run_h2load_open, "k6": run_k6}
BINARIES = {"wrk": wrk_binary, "h2load": h2load_binary, "k6": k6_binary}  # each raises, saying how to install it


def available(tool: str) -> str | None:
    """None if the load generator is installed, else how to install it."""
    try:
        BINARIES[tool]()
    except RuntimeError as e:
        return str(e)
    return None


def closed_loop(server: Server, model: str, clients: int, seconds: float, timeout_s: float) -> dict[str, Any]:
    before = server.stats().cpu_s
    wrk = run_wrk(WrkRun(server.url, model, IMAGES, clients, seconds, threads=2, timeout_s=timeout_s))
    cpu = server.stats().cpu_s - before
    elapsed = wrk["duration_us"] / 1e6
    statuses: dict[str, int] = wrk["statuses"]
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    refused = statuses.get("503", 0) + statuses.get("429", 0)
    answered = sum(statuses.values())
    lat = wrk["latency_us"]
    permille = [*lat["permille"][:-1], lat["max"]]  # wrk's 100th percentile reads 0: the top is the max
    share = refused / answered if answered else 0.0
    timeouts = wrk["errors"]["timeout"]
    return {
        "kind": "closed",
        "clients": clients,
        "seconds": elapsed,
        "offered_per_s": None,
        "accepted_per_s": ok / elapsed,
        "goodput": ok * IMAGES / elapsed,
        "refused_per_s": refused / elapsed,
        "failed": answered - ok - refused + timeouts + wrk["errors"]["connect"] + wrk["errors"]["read"],
        "timeouts": timeouts,
        "statuses": statuses,
        "p50_ms": accepted_quantile(permille, share, 0.5) / 1e3 if ok else None,
        "p99_ms": accepted_quantile(permille, share, 0.99) / 1e3 if ok else None,
        "server_cpu_cores": cpu / elapsed,
        "loadgen_cpu_cores": wrk["cpu_s"] / elapsed,
        "server_cpu_s": cpu,
        "accepted": ok,
        "refused": refused,
    }


def open_loop(server: Server, model: str, rate: float, seconds: float, tool: str) -> dict[str, Any]:
    before = server.stats().cpu_s
    gen = GENERATORS[tool](OpenLoopRun(server.url, model, IMAGES, rate, seconds, CLIENT_TIMEOUT_S))
    cpu = server.stats().cpu_s - before
    seconds = gen.get("seconds", seconds)  # h2load's schedule is whole connections at its reachable rate
    return {
        "kind": "open",
        "tool": tool,
        "clients": None,
        "seconds": seconds,
        "target_per_s": rate,
        "offered_per_s": gen["started"] / seconds,
        "dropped": gen["dropped"],
        "accepted_per_s": gen["accepted"] / seconds,
        "goodput": gen["accepted"] * IMAGES / seconds,
        "refused_per_s": gen["refused"] / seconds,
        "failed": gen["other"],
        "timeouts": None,
        "p50_ms": gen["accepted_ms"]["p50"],
        "p99_ms": gen["accepted_ms"]["p99"],
        "server_cpu_cores": cpu / seconds,
        "loadgen_cpu_cores": gen["cpu_s"] / seconds,
        "server_cpu_s": cpu,
        "accepted": gen["accepted"],
        "refused": gen["refused"],
        "connect": gen.get("connect"),
    }
