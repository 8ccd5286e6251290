"""Turn a results dict into a Markdown table (for docs/performance.md) and a PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _batch(p: dict[str, Any]) -> str:
    mean = p["batch_size"]["mean"]
    return "-" if mean is None else f"{mean:.1f}"


def _others(p: dict[str, Any]) -> str:
    codes = {k: v for k, v in p["statuses"].items() if not k.startswith("2") and k not in ("503", "429")}
    sock = {k: v for k, v in p["socket_errors"].items() if v}
    return ", ".join([f"{v}x{k}" for k, v in codes.items()] + [f"{v} {k}" for k, v in sock.items()]) or "0"


def _engine(p: dict[str, Any]) -> str:
    engine = p.get("ceiling")
    return "-" if engine is None else f"{engine['images_per_s']:.0f}"


def _per_cpu(p: dict[str, Any]) -> str:
    return f"{p['images_per_s'] / p['server_cpu_cores']:.0f}" if p["server_cpu_cores"] > 0 else "-"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        (
            f"Machine: {m['cpu_model']}, nproc {m['nproc']}, load average {m['loadavg_start']} at start, "
            f"{m['loadavg_end']} at end; {m['date']}; commit {m['commit']}."
        ),
        f"Model: `{results['model']['name']}/{results['model']['version']}` ({results['model']['description']}).",
        f"Command: `{results['command']}`",
    ]
    if results["direct"]:
        lines += ["", "| onnxruntime direct | threads | spinning | measured | calls/s | images/s | p50 ms | p99 ms |",
                  "|---|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in results["direct"]:
        lines.append(f"| batch {r['batch']} | {r.get('threads') or 'default'} | {r.get('spinning', '')} | "
                     f"{r.get('when', '')} | {r['calls_per_s']:.0f} | {r['images_per_s']:.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} |")  # fmt: skip
    if results["configs"]:
        lines += [
            "",
            (
                "| service | images/req | clients | req/s | images/s | p50 ms | p95 ms | p99 ms | 2xx | 503 | other "
                "| mean batch | service CPU (cores) | images per CPU-s | wrk CPU (cores) | engine alone (img/s) |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
    for run in results["configs"]:
        for p in run["points"]:
            ok = sum(v for k, v in p["statuses"].items() if k.startswith("2"))
            lat = p["latency_ms"]
            lines.append(
                f"| {run['name']} | {p['images_per_request']} | {p['concurrency']} | {p['requests_per_s']:.0f} | "
                f"{p['images_per_s']:.0f} | {lat['50']:.2f} | {lat['95']:.2f} | {lat['99']:.2f} | {ok} | "
                f"{p['refused']} | {_others(p)} | {_batch(p)} | {p['server_cpu_cores']:.2f} | "
                f"{_per_cpu(p)} | {p['wrk_cpu_cores']:.2f} | {_engine(p)} |"
            )
    if results["configs"]:
        lines += ["", "Peak resident memory per configuration (VmHWM, all server processes): " + ", ".join(
            f"{run['name']} {run['server_peak_rss_mb']:.0f} MiB" for run in results["configs"]) + "."]  # fmt: skip
    if results.get("formats"):
        lines += ["", *formats_markdown(results["formats"])]
    lines += ["", "| target | goal | measured | result |", "|---|---|---|---|"]
    for t in results["targets"]:
        verdict = {True: "pass", False: "**miss**", None: "n/a"}[t["pass"]]
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {verdict} |")
    return "\n".join(lines) + "\n"


def _distribution(histogram: dict[str, int]) -> str:
    """Non-empty batch-size buckets as `<=le: count`."""
    return ", ".join(f"<={le}: {n}" for le, n in histogram.items() if n) or "-"


def formats_markdown(f: dict[str, Any]) -> list[str]:
    """The formats section: each answer against onnxruntime alone, CPU per image per stage, batch sizes."""
    lines = [
        (
            f"Formats: `{f['model']}`; png, jpeg and webp are JSON answers with base64 pictures, raw is "
            "`application/x-npy`. Engine = onnxruntime alone, measured right after each point at the request size and "
            "at the mean batch the service formed. CPU per image from /proc per thread: event loop, inference (the "
            "inference thread and onnxruntime's pool), encode (the encode pool)."
        ),
        "",
        (
            "| answer | images/req | clients | images/s | engine at request size | ratio | mean batch | engine at mean "
            "batch | ratio | p50 ms | p99 ms | wire bytes/image | CPU ms/image: loop | inference | encode | total "
            "| batch sizes |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in f["points"]:
        e1, e2 = p["engine_request_batch"]["images_per_s"], p["engine_mean_batch"]["images_per_s"]
        cpu = {k: "-" if v is None else f"{v:.3f}" for k, v in p["cpu_ms_per_image"].items()}
        mean = p["batch_size"]["mean"]
        lines.append(
            f"| {p['format']} | {p['images_per_request']} | {p['concurrency']} | {p['images_per_s']:.0f} | "
            f"{e1:.0f} | {p['images_per_s'] / e1:.2f}x | {'-' if mean is None else f'{mean:.1f}'} | {e2:.0f} | "
            f"{p['images_per_s'] / e2:.2f}x | {p['latency_ms']['50']:.1f} | {p['latency_ms']['99']:.1f} | "
            f"{p['bytes_per_image'] or 0:.0f} | {cpu['event_loop']} | {cpu['inference']} | {cpu['encode']} | "
            f"{cpu['total']} | {_distribution(p['batch_size']['histogram'])} |")  # fmt: skip
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    fig, (ax_tp, ax_lat) = plt.subplots(1, 2, figsize=(12, 5.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(results["configs"]):
        for images in sorted({p["images_per_request"] for p in run["points"]}):
            pts = sorted((p for p in run["points"] if p["images_per_request"] == images),
                         key=lambda p: p["concurrency"])  # fmt: skip
            xs = [p["concurrency"] for p in pts]
            style = {"color": colors[i % len(colors)], "marker": "o" if images == 1 else "s",
                     "ls": "-" if images == 1 else "--", "label": f"{run['name']}, {images} img/request"}  # fmt: skip
            ax_tp.plot(xs, [p["images_per_s"] for p in pts], **style)
            ax_lat.plot(xs, [p["latency_ms"]["99"] for p in pts], **style)
    # the engine alone, measured right before each point at that point's batch size (the bar it is judged by)
    first = results["configs"][0]["points"] if results["configs"] else []
    for images in sorted({p["images_per_request"] for p in first}):
        pts = sorted((p for p in first if p["images_per_request"] == images and p.get("ceiling")),
                     key=lambda p: p["concurrency"])  # fmt: skip
        if pts:
            ax_tp.plot([p["concurrency"] for p in pts], [p["ceiling"]["images_per_s"] for p in pts], color="grey",
                       lw=1, ls=":" if images == 1 else "-.", marker="x" if images == 1 else "+",
                       label=f"onnxruntime alone, batch {images}")  # fmt: skip
    all_x = sorted({p["concurrency"] for run in results["configs"] for p in run["points"]})
    for ax, title, unit in ((ax_tp, "throughput", "images/s (2xx only)"), (ax_lat, "p99 latency", "ms (log)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(all_x, [str(x) for x in all_x])
        ax.set_xlabel("concurrent clients (closed loop)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_lat.set_yscale("log")
    ax_tp.set_ylim(bottom=0)
    fig.legend(*ax_tp.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    m = results["machine"]
    fig.suptitle(f"ganserve on {m['cpu_model']} x{m['nproc']}, model {results['model']['name']}", fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 1))  # room for the shared legend below
    fig.savefig(path, dpi=110)
    plt.close(fig)
