"""Overload benchmark: goodput and accepted-request latency when clients offer more than the service can do.

    python -m bench.overload                      # ~3 min on models/dcgan-mnist -> bench/results/overload.{json,md,png}
    python -m bench.overload --duration 5 --docs none --out bench/results/tmp/overload
    python -m bench.overload --set DEADLINE_MS=2000

In one run, on one `ganserve serve` process (GANSERVE_QUEUE_CAPACITY=64, 8-image requests, as issue 16 states it):

1. the engine alone: onnxruntime at batch 64 in this process (best of its defaults and the service's options),
   at the start and at the end of the run;
2. closed-loop wrk at 8 connections (64 images in flight, never refused): its images/s is "capacity"; and at
   16 connections, whose accepted p99 is the reference for the 0.5x open-loop point;
3. open loop at 0.5x, 1x, 2x and 5x capacity, 2 s client timeout: h2load opening a new client on a clock
   (bench/openloop_h2load.py; `--open-loop k6`: k6's constant-arrival-rate, bench/openloop.py), and the 2x point
   again with the other generator, to show what the load generator's own CPU does to a 2-core machine;
4. the storm: wrk, 512 connections that resend at once after a refusal (ignoring Retry-After), 2 s timeout,
   with the defaults (early refusal, holding connections that come back early), then on fresh servers with
   holding off (GANSERVE_REFUSAL_HOLD_MAX_S=0: the cheap refusal alone) and with the regular path only
   (GANSERVE_EARLY_REFUSAL=false: as before issue 16);
5. CPU per refusal end to end (bench/refusal.py --http): a held engine in this process, uvicorn and wrk.

Per row: offered rate, goodput (images/s in 200 answers), refusals/s, other failures, accepted p50/p99, the
service's CPU and the load generator's own CPU (they share the machine's cores). Needs wrk, h2load and k6.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.config import setting_arg
from bench.direct import measure_direct
from bench.overload_report import markdown, plot, update_docs, verdicts, write_json
from bench.overload_rows import CLIENT_TIMEOUT_S, GENERATORS, IMAGES, available, closed_loop, open_loop
from bench.refusal import HTTP_PATHS, cpu_per_http_refusal, server_logging_to_devnull
from bench.server import Server

FACTORS = (0.5, 1.0, 2.0, 5.0)
CAPACITY_CLIENTS = 8  # 8 x 8 images in flight: the queue (64) never refuses them
REFERENCE_CLIENTS = 16  # the p99 the 0.5x open-loop point is compared with
STORM_CLIENTS = 512
BASE_ENV = {"GANSERVE_QUEUE_CAPACITY": "64", "GANSERVE_MAX_IMAGES_PER_REQUEST": "64"}
DOCS = Path("docs/performance.md")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def engine(version_dir: Path, seconds: float) -> dict[str, Any]:
    """The best images/s onnxruntime reaches at batch 64 (its defaults, and spinning off as the service runs)."""
    rows = [measure_direct(version_dir, [64], seconds, spinning=spin)[0] for spin in (True, False)]
    return max(rows, key=lambda r: r["images_per_s"])


def settle(server: Server, seconds: float = 1.0) -> None:
    """Let what the last point queued finish before the next one starts."""
    time.sleep(seconds)


def run(args: argparse.Namespace, command: str, log: Any = print) -> dict[str, Any]:
    version_dir = args.models_dir / args.model / args.version
    env = BASE_ENV | dict(args.set)
    results: dict[str, Any] = {
        "command": command,
        "model": f"{args.model}/{args.version}",
        "env": env,
        "images_per_request": IMAGES,
        "client_timeout_s": CLIENT_TIMEOUT_S,
        "open_loop_tool": args.open_loop,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_start": loadavg(),
    }
    log(f"engine alone, batch 64 (load average {loadavg()})")
    results["engine_start"] = engine(version_dir, args.direct_s)
    log(f"  {results['engine_start']['images_per_s']:.0f} img/s")
    rows: list[dict[str, Any]] = []
    log_dir = Path("bench/results/tmp/logs")  # server logs, not committed
    with Server(args.models_dir, env, args.model, log_dir / "overload.early.log") as server:
        log(f"service {env}")
        closed_loop(server, args.model, CAPACITY_CLIENTS, args.warmup_s, 60.0)  # warm-up, not reported
        for clients in (CAPACITY_CLIENTS, REFERENCE_CLIENTS):
            settle(server)
            rows.append(
                closed_loop(server, args.model, clients, args.duration_s, 60.0)
                | {"name": f"closed loop, {clients} clients"}
            )
            log(_line(rows[-1]))
        capacity = rows[0]
        other = next(tool for tool in GENERATORS if tool != args.open_loop)
        compare = [(2.0, other)] if available(other) is None else []  # the second generator's row is optional
        if not compare:
            log(f"  (no {other} row: {available(other)})")
        for factor, tool in [*((f, args.open_loop) for f in FACTORS), *compare]:
            settle(server)
            rate = factor * capacity["goodput"] / IMAGES
            rows.append(
                open_loop(server, args.model, rate, args.duration_s, tool)
                | {"name": f"open loop {factor:g}x ({tool})", "factor": factor}
            )
            log(_line(rows[-1]))
        settle(server)
        # the engine alone again, seconds before the storm it is compared with: a shared machine's load drifts
        results["engine_before_storm"] = engine(version_dir, args.direct_s)
        storm = closed_loop(server, args.model, STORM_CLIENTS, args.duration_s, CLIENT_TIMEOUT_S)
        rows.append(storm | {"name": f"storm, {STORM_CLIENTS} clients, early refusal + hold (defaults)"})
        log(_line(rows[-1]))
    # the same storm with holding off (the cheap refusal alone), and with the regular path only (before issue 16)
    for label, extra in (
        ("early refusal, no hold", {"GANSERVE_REFUSAL_HOLD_MAX_S": "0"}),
        ("regular path only", {"GANSERVE_EARLY_REFUSAL": "false"}),
    ):
        log_path = log_dir / f"overload.{label.replace(' ', '-').replace(',', '')}.log"
        with Server(args.models_dir, env | extra, args.model, log_path) as server:
            closed_loop(server, args.model, CAPACITY_CLIENTS, args.warmup_s, 60.0)
            settle(server)
            storm = closed_loop(server, args.model, STORM_CLIENTS, args.duration_s, CLIENT_TIMEOUT_S)
            rows.append(storm | {"name": f"storm, {STORM_CLIENTS} clients, {label}", "env": env | extra})
            log(_line(rows[-1]))
    # CPU per refusal end to end, each path on a held engine in this process (bench/refusal.py --http)
    with server_logging_to_devnull():
        results["refusal_us"] = {
            path: uvloop.run(cpu_per_http_refusal(args.models_dir, args.model, path, args.refusal_s))["cpu_us"]
            for path in HTTP_PATHS
        }
    log(f"  CPU per refusal end to end: {results['refusal_us']}")
    results["engine_end"] = engine(version_dir, args.direct_s)
    results["loadavg_end"] = loadavg()
    results["rows"] = rows
    results["capacity"] = capacity["goodput"]
    results["targets"] = verdicts(results)
    return results


def _line(r: dict[str, Any]) -> str:
    offered = f"{r['offered_per_s']:7.1f} req/s" if r["offered_per_s"] is not None else f"{'closed':>13}"
    p99 = f"{r['p99_ms']:8.1f}" if r["p99_ms"] is not None else "     -"
    return (
        f"  {r['name']:<44} {offered}  goodput {r['goodput']:7.1f} img/s  refused {r['refused_per_s']:7.1f}/s  "
        f"failed {r['failed']}  p99 {p99} ms  srv {r['server_cpu_cores']:.2f}  gen {r['loadgen_cpu_cores']:.2f} "
        f"cores  (load {loadavg()})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.overload",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--model", default="dcgan-mnist")
    p.add_argument("--version", default="1")
    p.add_argument("--duration", dest="duration_s", type=float, default=8.0, help="seconds per point (default 8)")
    p.add_argument("--warmup", dest="warmup_s", type=float, default=3.0)
    p.add_argument("--direct", dest="direct_s", type=float, default=2.0, help="seconds of engine-alone timing")
    p.add_argument("--open-loop", choices=list(GENERATORS), default="h2load", help="open-loop load generator")
    p.add_argument("--refusal", dest="refusal_s", type=float, default=4.0, help="wrk seconds per refusal path")
    p.add_argument(
        "--set",
        type=setting_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a GANSERVE_ setting for the servers (prefix optional); repeatable",
    )
    p.add_argument("--out", type=Path, default=Path("bench/results/overload"), help="output prefix")
    p.add_argument("--docs", default=str(DOCS), help=f"page whose generated block to rewrite, or 'none' ({DOCS})")
    args = p.parse_args(argv)
    if not (args.models_dir / args.model / args.version / "manifest.json").is_file():
        print(f"python -m bench.overload: no model at {args.models_dir / args.model / args.version}", file=sys.stderr)
        return 2
    for tool in {"wrk", args.open_loop}:
        missing = available(tool)
        if missing:
            print(f"python -m bench.overload: {missing}", file=sys.stderr)
            return 2
    command = shlex.join(["python", "-m", "bench.overload", *(sys.argv[1:] if argv is None else argv)])
    results = run(args, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(results, args.out)
    table = markdown(results)
    Path(f"{args.out}.md").write_text(table)
    plot(results, Path(f"{args.out}.png"))
    print(table)
    if args.docs != "none":
        update_docs(Path(args.docs), table, args.out)
        print(f"updated {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
