"""The overload benchmark's outputs: target verdicts, a Markdown table, a plot, and the docs page's generated block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.docs_block import markers, rewrite_block

BLOCK_START, BLOCK_END = markers("overload")


def _row(results: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    return next((r for r in results["rows"] if r["name"].startswith(prefix)), None)


def _open(results: dict[str, Any], factor: float) -> dict[str, Any]:
    """The open-loop row at `factor` x capacity from the run's main load generator ({} if none)."""
    tool = results.get("open_loop_tool", "k6")
    rows = (r for r in results["rows"] if r["kind"] == "open" and r["factor"] == factor and r.get("tool", "k6") == tool)
    return next(rows, {})


def _deadline_ms(results: dict[str, Any]) -> float:
    return float(results["env"].get("GANSERVE_DEADLINE_MS", "10000"))


def verdicts(results: dict[str, Any]) -> list[dict[str, str]]:
    """Issue 16's targets, each with the figures it was judged on."""
    engine = results["engine_before_storm"]["images_per_s"]
    capacity = results["capacity"]
    closed, storm = _row(results, "closed loop, 16"), _row(results, "storm") or {}
    double, half = _open(results, 2.0), _open(results, 0.5)
    out = []
    if storm:
        ratio = storm["goodput"] / engine
        ok = ratio >= 0.6 and storm["timeouts"] == 0
        out.append(
            {
                "target": f"storm ({storm['clients']} clients ignoring Retry-After): goodput, timeouts at 2 s",
                "goal": ">= 0.6x engine (measured just before), 0 timeouts",
                "measured": f"{ratio:.2f}x ({storm['goodput']:.0f} vs {engine:.0f} img/s), "
                f"{storm['timeouts']} timeouts",
                "result": "pass" if ok else "**miss**",
            }
        )
    if double:
        ratio, p99 = double["goodput"] / capacity, double["p99_ms"]
        ok = ratio >= 0.8 and p99 is not None and p99 <= _deadline_ms(results)
        out.append(
            {
                "target": "open loop at 2x capacity: goodput, accepted p99",
                "goal": f">= 0.8x capacity, p99 <= {_deadline_ms(results):.0f} ms",
                "measured": f"{ratio:.2f}x ({double['goodput']:.0f} vs {capacity:.0f} img/s), p99 {p99 or 0:.1f} ms",
                "result": "pass" if ok else "**miss**",
            }
        )
    if half and closed:
        p99, ref = half["p99_ms"], closed["p99_ms"]
        ok = p99 is not None and ref is not None and p99 <= ref
        out.append(
            {
                "target": "open loop at 0.5x capacity: accepted p99",
                "goal": f"<= closed-loop p99 at {closed['clients']} clients",
                "measured": f"{p99 or 0:.1f} ms vs {ref or 0:.1f} ms",
                "result": "pass" if ok else "**miss**",
            }
        )
    refusal = results.get("refusal_us", {}).get("early refusal in the protocol")
    if refusal is not None:
        out.append(
            {
                "target": "CPU per refusal, end to end (uvicorn, keep-alive, wrk)",
                "goal": "< 100 us",
                "measured": f"{refusal:.0f} us (regular path: "
                f"{results['refusal_us'].get('regular path (httptools)', 0):.0f} us)",
                "result": "pass" if refusal < 100 else "**miss**",
            }
        )
    return out


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def markdown(results: dict[str, Any]) -> str:
    engine_s, engine_e = results["engine_start"]["images_per_s"], results["engine_end"]["images_per_s"]
    settings = ", ".join(f"`{k}={v}`" for k, v in results["env"].items())
    lines = [
        (
            f"Machine: nproc {results['nproc']}, load average {results['loadavg_start']} at start, "
            f"{results['loadavg_end']} at end; {results['date']}."
        ),
        (
            f"Model: `{results['model']}`, {results['images_per_request']} images per request; service settings "
            f"{settings}; client timeout {results['client_timeout_s']:g} s."
        ),
        (
            f"Engine alone (onnxruntime, batch 64): {engine_s:.0f} img/s at start, "
            f"{results['engine_before_storm']['images_per_s']:.0f} just before the storm, {engine_e:.0f} at end. "
            f"Capacity (closed loop, accepted images/s): {results['capacity']:.0f} img/s."
        ),
        f"Command: `{results['command']}`",
        "",
        (
            "| load | offered req/s | offered img/s | goodput img/s | x capacity | refusals/s | failed "
            "| accepted p50 ms | accepted p99 ms | service CPU (cores) | load generator CPU (cores) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        offered = r["offered_per_s"]
        lines.append(
            f"| {r['name']} | {_num(offered, '{:.1f}') if offered is not None else 'closed loop'} "
            f"| {_num(offered * results['images_per_request'] if offered is not None else None)} "
            f"| {r['goodput']:.0f} | {r['goodput'] / results['capacity']:.2f} | {r['refused_per_s']:.0f} "
            f"| {r['failed']} | {_num(r['p50_ms'], '{:.1f}')} | {_num(r['p99_ms'], '{:.1f}')} "
            f"| {r['server_cpu_cores']:.2f} | {r['loadgen_cpu_cores']:.2f} |"
        )
    per_refusal = refusal_cpu(results)
    if per_refusal:
        lines += [
            "",
            "Service CPU per refusal in the storm, end to end with HTTP parsing (the service's CPU minus the "
            "accepted requests at the capacity point's CPU per request, over the refusals): "
            + "; ".join(f"{name}: {ms * 1000:.0f} us" for name, ms in per_refusal.items())
            + ".",
        ]
    if results.get("refusal_us"):
        lines += [
            "",
            "Service CPU per refusal end to end, measured alone (`python -m bench.refusal --http`: the engine held "
            "in the benchmark's process, uvicorn on uvloop, wrk on 64 keep-alive connections, the process's CPU "
            "over wrk's answers): "
            + "; ".join(f"{name}: {us:.0f} us" for name, us in results["refusal_us"].items())
            + ".",
        ]
    lines += ["", "| target | goal | measured | result |", "|---|---|---|---|"]
    lines += [f"| {t['target']} | {t['goal']} | {t['measured']} | {t['result']} |" for t in results["targets"]]
    return "\n".join(lines) + "\n"


def refusal_cpu(results: dict[str, Any]) -> dict[str, float]:
    """Milliseconds of service CPU per refusal in each storm row, net of the accepted work."""
    closed = _row(results, "closed loop, 8")
    if closed is None or not closed["accepted"]:
        return {}
    per_request = closed["server_cpu_s"] / closed["accepted"]
    out = {}
    for r in results["rows"]:
        # with holding, held requests that end up served blur the split: only the rows without it are estimated
        if r["name"].startswith("storm") and "hold (defaults)" not in r["name"] and r["refused"]:
            net = max(0.0, r["server_cpu_s"] - r["accepted"] * per_request)
            out[r["name"].split(", ")[-1]] = 1e3 * net / r["refused"]
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = results["images_per_request"]
    tool = results.get("open_loop_tool", "k6")
    opened = [r for r in results["rows"] if r["kind"] == "open" and r.get("tool", "k6") == tool]
    others = [r for r in results["rows"] if r["kind"] == "open" and r.get("tool", "k6") != tool]
    offered = [r["offered_per_s"] * images for r in opened]
    fig, (good, tail) = plt.subplots(1, 2, figsize=(11, 4.2))
    good.plot(offered, [r["goodput"] for r in opened], "o-", label=f"open loop ({tool})")
    for r in others:
        good.plot([r["offered_per_s"] * images], [r["goodput"]], "x", ms=9, label=f"open loop ({r['tool']})")
    good.plot(offered, offered, ":", color="grey", label="offered")
    good.axhline(results["capacity"], color="green", ls="--", lw=1, label="capacity (closed loop, 8 clients)")
    good.axhline(results["engine_start"]["images_per_s"], color="black", ls="--", lw=1, label="engine alone")
    for r in results["rows"]:
        if r["name"].startswith("storm"):
            color = "red" if "regular" in r["name"] else "orange" if "no hold" in r["name"] else "purple"
            good.axhline(r["goodput"], color=color, lw=1.5, label=r["name"].replace("storm, ", "wrk storm: "))
    good.set(xlabel="offered images/s", ylabel="goodput: accepted images/s", title="goodput against offered load")
    good.legend(fontsize=7)
    tail.plot(offered, [r["p99_ms"] or float("nan") for r in opened], "o-", label="accepted p99")
    tail.plot(offered, [r["p50_ms"] or float("nan") for r in opened], "s--", label="accepted p50")
    tail.set(xlabel="offered images/s", ylabel="ms", yscale="log", title="latency of accepted requests")
    tail.legend(fontsize=7)
    fig.suptitle(f"{results['model']}, {images} images/request, {results['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(results: dict[str, Any], out: Path) -> None:
    Path(f"{out}.json").write_text(json.dumps(results, indent=1) + "\n")


def update_docs(page: Path, table: str, out: Path) -> None:
    rewrite_block(page, "overload", "goodput and accepted p99 against offered load", table, out)
