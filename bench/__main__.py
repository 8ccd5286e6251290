"""Load-benchmark the service the way users run it, against onnxruntime called directly, in one run.

    python -m bench                 # full run (~7 min): sweep + 100k-request memory check -> bench/results/latest.*
    python -m bench --quick         # ~2 min subset, no memory check -> bench/results/tmp/quick.*
    python -m bench --models-dir models --model dcgan-mnist --set INTRA_OP_THREADS=2 --set WORKERS=1
    python -m bench --suite formats --duration 5    # only the 64x64 RGB formats section (bench/formats.py)

Each run measures: onnxruntime direct at batch 1/8/64 (the ceiling, at the start and again at the end); then, per service configuration (`batching`
with the given settings, `no-batching` = the same with GANSERVE_MAX_BATCH_SIZE=1), a real `ganserve serve` process
under closed-loop wrk load at 1/16/64/256 clients x 1/64 images per request; then a 100,000-request memory check;
then the formats section: a 64x64 RGB generator at 8 clients x 16 images and 64 clients x 1 image, answered in PNG,
JPEG and raw tensors, against onnxruntime alone, with CPU per image per stage (bench/formats.py).
It writes OUT.json (every figure), OUT.md (tables and target verdicts) and OUT.png (throughput and p99 against
clients). With no --model it benchmarks a DCGAN-sized reference generator (bench/model.py), exported on first use.
Needs wrk (apt-get install -y wrk) and, for the reference model and the plot, the `train` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import BenchConfig, setting_arg
from bench.direct import ceiling
from bench.docs_block import markers, rewrite_block
from bench.formats import run_formats
from bench.report import markdown, plot
from bench.soak import run_soak
from bench.sweep import run_configs
from bench.targets import evaluate
from service.manifest import load_manifest

REFERENCE_DIR = Path("bench/results/tmp/models")
DOCS = Path("docs/performance.md")
BLOCK_START, BLOCK_END = markers("bench")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _config(text: str) -> tuple[str, dict[str, str]]:
    name, _, body = text.partition(":")
    return name, dict(setting_arg(kv) for kv in body.split(",") if kv)


def _profile(text: str) -> tuple[str, int, int]:
    name, images, clients = text.rsplit(":", 2)
    return name, int(images), int(clients)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)  # fmt: skip
    p.add_argument("--models-dir", type=Path, default=None, help="model repository (default: the reference model)")
    p.add_argument("--model", default=None, help="model name (default: bench-dcgan, exported on first use)")
    p.add_argument("--version", default="1")
    p.add_argument("--quick", action="store_true", help="short points, no memory check, results under tmp/")
    p.add_argument("--concurrency", type=_ints, default=None, help="comma list of clients (default 1,16,64,256)")
    p.add_argument("--sizes", type=_ints, default=None, help="comma list of images per request (default 1,64)")
    p.add_argument("--duration", type=float, default=None, help="seconds per load point (default 10, quick 3)")
    p.add_argument("--set", type=setting_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="a GANSERVE_ setting for every configuration (prefix optional); repeatable")  # fmt: skip
    p.add_argument(
        "--config",
        type=_config,
        action="append",
        default=[],
        metavar="NAME:KEY=V,KEY=V",
        help="replace the default configurations (batching, no-batching) with these; repeatable",
    )
    p.add_argument("--soak-requests", type=int, default=None, help="memory check length (default 100000, quick 0)")
    p.add_argument(
        "--profile",
        type=_profile,
        default=None,
        metavar="CONFIG:IMAGES:CLIENTS",
        help="run py-spy on the server during that point, e.g. batching:1:64 (pip install py-spy)",
    )
    p.add_argument(
        "--suite",
        default="all",
        help="all (default), sweep (28x28 load sweep + memory check) or formats (64x64 RGB formats section)",
    )
    p.add_argument(
        "--formats", default=None, help="comma list for the formats section (default png,jpeg,raw; also webp)"
    )
    p.add_argument("--out", type=Path, default=None, help="output prefix (default bench/results/latest)")
    p.add_argument(
        "--docs",
        type=Path,
        default=None,
        help=f"rewrite the generated block of this page (default for a full run: {DOCS})",
    )
    return p


def _machine() -> dict[str, Any]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    # best effort: a missing git or wrk shows as "?" rather than stopping the run
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                            check=False).stdout.strip()  # fmt: skip
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
    import onnxruntime

    return {"cpu_model": cpu, "nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "wrk": wrk[0] if wrk else "?", "commit": commit or "?",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def to_config(args: argparse.Namespace) -> BenchConfig:
    models_dir, model = args.models_dir, args.model
    if model is None:
        from bench import model as reference

        models_dir, model = models_dir or REFERENCE_DIR, reference.NAME
        if not (models_dir / model / reference.VERSION / "manifest.json").is_file():
            reference.export(models_dir)
    cfg = BenchConfig(
        models_dir=models_dir or Path("models"),
        model=model,
        version=args.version,
        out=args.out or Path("bench/results/tmp/quick" if args.quick else "bench/results/latest"),
    )
    if args.quick:
        cfg.duration_s, cfg.warmup_s, cfg.direct_s, cfg.soak_requests = 3.0, 1.0, 1.0, 0
    cfg.concurrencies = args.concurrency or cfg.concurrencies
    cfg.sizes = args.sizes or cfg.sizes
    cfg.duration_s = args.duration or cfg.duration_s
    cfg.soak_requests = cfg.soak_requests if args.soak_requests is None else args.soak_requests
    cfg.settings = dict(args.set)
    if args.config:
        cfg.configs = dict(args.config)
    cfg.profile = args.profile
    cfg.suite = args.suite
    cfg.formats = args.formats.split(",") if args.formats else cfg.formats
    if cfg.suite != "sweep" and cfg.format_model is None:
        from bench import model_rgb

        cfg.format_models_dir, cfg.format_model = REFERENCE_DIR, model_rgb.NAME
        if not (REFERENCE_DIR / model_rgb.NAME / model_rgb.VERSION / "manifest.json").is_file():
            model_rgb.export(REFERENCE_DIR)
    cfg.direct_batches = sorted({1, 64, *cfg.sizes, 8})
    cfg.validate()
    return cfg


def _direct(cfg: BenchConfig, when: str, log: Any) -> list[dict[str, Any]]:
    log(f"direct onnxruntime ({when}), variants (threads, spinning) {cfg.direct_variants()}, batches "
        f"{cfg.direct_batches} (load average {_loadavg()})")  # fmt: skip
    rows = ceiling(cfg, cfg.direct_batches, cfg.direct_s, when)
    for r in rows:
        log(
            f"  batch {r['batch']:>3} threads {r['threads']} spinning {r['spinning']!s:5}: "
            f"{r['images_per_s']:8.1f} img/s, p50 {r['p50_ms']:.3f} ms"
        )
    return rows


def run(cfg: BenchConfig, command: str, log: Any = print) -> dict[str, Any]:
    only_formats = cfg.suite == "formats" and cfg.format_models_dir is not None and cfg.format_model is not None
    models_dir, model = (cfg.format_models_dir, cfg.format_model) if only_formats else (cfg.models_dir, cfg.model)
    assert models_dir is not None and model is not None
    version = "1" if only_formats else cfg.version
    manifest = load_manifest(models_dir / model / version)
    results: dict[str, Any] = {"command": command, "config": cfg.to_json(), "machine": _machine(),
                               "model": {"name": model, "version": version,
                                         "description": manifest.description or manifest.kind.value}}  # fmt: skip
    results["machine"]["loadavg_start"] = _loadavg()
    results["direct"], results["configs"] = [], []
    if cfg.suite in ("all", "sweep"):
        results["direct"] = _direct(cfg, "start", log)
        log(f"service sweep (load average {_loadavg()})")
        results["configs"] = run_configs(cfg, log)
        if cfg.soak_requests:
            log(f"memory check: {cfg.soak_warmup_requests} warm-up + {cfg.soak_requests} requests")
            results["soak"] = run_soak(cfg, log)
        # the ceiling again at the end: on a shared machine the background load drifts during a run
        results["direct"] += _direct(cfg, "end", log)
    if cfg.suite in ("all", "formats"):
        assert cfg.format_models_dir is not None and cfg.format_model is not None
        log(f"formats: {cfg.format_model} in {', '.join(cfg.formats)} (load average {_loadavg()})")
        results["formats"] = run_formats(cfg, cfg.format_models_dir, cfg.format_model, log)
    results["machine"]["loadavg_end"] = _loadavg()
    results["targets"] = evaluate(results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    docs = args.docs or (DOCS if not args.quick and args.out is None else None)
    try:
        cfg = to_config(args)
        if docs is not None and BLOCK_START not in docs.read_text():
            raise ValueError(f"{docs} has no {BLOCK_START} ... {BLOCK_END} block to rewrite")
    except (ValueError, OSError) as e:
        print(f"python -m bench: {e}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    results = run(cfg, command)
    table = write_outputs(results, cfg.out)
    print(table)
    print(f"wrote {cfg.out}.json, .md, .png")
    if docs is not None:
        update_docs(docs, table, cfg.out)
        print(f"updated {docs}")
    return 0


def update_docs(page: Path, table: str, out: Path) -> None:
    rewrite_block(page, "bench", "throughput and p99 latency against clients", table, out)


def write_outputs(results: dict[str, Any], out: Path) -> str:
    """Write OUT.json, OUT.md and OUT.png (the plot only when the sweep ran); return the Markdown."""
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    Path(f"{out}.md").write_text(table)
    if results["configs"]:
        plot(results, Path(f"{out}.png"))
    return table


if __name__ == "__main__":
    sys.exit(main())
