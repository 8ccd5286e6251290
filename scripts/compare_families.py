"""Train every classic family with the SAME short budget, export each, score each, and collect the results.

    python scripts/compare_families.py                      # all runs, 2 at a time, 3.5 minutes each
    python scripts/compare_families.py --minutes 2 --only dcgan dcgan-sn --parallel 1

Each run is `python -m training train` with a wall-clock budget (`--max-minutes`, one CPU thread), so the
families get equal compute rather than equal steps (WGAN's five critic steps per generator step cost time).
Models go to runs/compare/models/<run>/1 (scratch, not shipped), sample grids to docs/img/compare/<run>.png,
and the evaluation of each (2,000 samples vs the 2,000 held-out digits) to docs/img/compare/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_MODELS = REPO / "runs" / "compare" / "models"
OUT_RUNS = REPO / "runs" / "compare" / "runs"
OUT_DOCS = REPO / "docs" / "img" / "compare"

# run name -> settings; no EMA anywhere, so the families are compared on their raw generators
RUNS: dict[str, dict[str, object]] = {
    "gan-minimax": dict(family="gan", loss="minimax", label_smoothing=0.1),
    "gan-nonsaturating": dict(family="gan", loss="nonsaturating", label_smoothing=0.1),
    "dcgan": dict(family="dcgan", loss="nonsaturating", label_smoothing=0.1),
    "dcgan-sn": dict(family="dcgan", loss="nonsaturating", label_smoothing=0.1, spectral_norm=True),
    "dcgan-mbstd": dict(family="dcgan", loss="nonsaturating", label_smoothing=0.1, mbstd=True),
    "dcgan-sn-mbstd": dict(family="dcgan", loss="nonsaturating", label_smoothing=0.1, spectral_norm=True, mbstd=True),
    "wgan": dict(family="wgan"),
    "wgan-gp": dict(family="wgan-gp"),
}


def command(name: str, settings: dict[str, object], minutes: float) -> list[str]:
    cmd = [sys.executable, "-m", "training", "train", "--name", name, "--steps", "1000000", "--max-minutes",
           str(minutes), "--threads", "1", "--seed", "0", "--sample-every", "1000", "--checkpoint-every", "1000000",
           "--runs-dir", str(OUT_RUNS), "--export-dir", str(OUT_MODELS)]  # fmt: skip
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            cmd.append(flag if value else "--no-" + flag[2:])
        else:
            cmd += [flag, str(value)]
    return cmd


def collect(name: str, env: dict[str, str]) -> dict[str, object]:
    """The latest run of `name`: its summary, exporting from its checkpoint first if the run did not export."""
    import torch

    run_dir = max(OUT_RUNS.glob(f"*-{name}"))
    if not (OUT_MODELS / name / "1" / "model.onnx").exists():
        subprocess.run([sys.executable, "-m", "training", "export", str(run_dir), "--models-dir", str(OUT_MODELS)],
                       cwd=REPO, env=env, check=True, capture_output=True)  # fmt: skip
    if (run_dir / "summary.json").exists():
        return json.loads((run_dir / "summary.json").read_text())
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    return {"steps": int(ckpt["step"]), "train_seconds": round(float(ckpt["seconds"]), 1), "stopped_early": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.5)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=sorted(RUNS), help="a subset of the runs")
    parser.add_argument(
        "--collect-only",
        action="store_true",
        help="train nothing: export (if needed), evaluate and collect the latest run of each name",
    )
    args = parser.parse_args()
    names = args.only or list(RUNS)
    OUT_DOCS.mkdir(parents=True, exist_ok=True)
    OUT_RUNS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    pending, running, summaries = ([] if args.collect_only else list(names)), {}, {}
    while pending or running:
        while pending and len(running) < args.parallel:
            name = pending.pop(0)
            log = open(OUT_RUNS.parent / f"{name}.log", "w")  # noqa: SIM115  (closed when the run ends)
            cmd = ["nice", "-n", "10", *command(name, RUNS[name], args.minutes)]
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
            running[name] = (proc, log)
        time.sleep(2)
        for name, (proc, log) in list(running.items()):
            if proc.poll() is None:
                continue
            out = proc.stdout.read() if proc.stdout else ""
            log.close()
            del running[name]
            if proc.returncode != 0:
                print(f"{name}: training failed (see {OUT_RUNS.parent / (name + '.log')})", file=sys.stderr)
                continue
            summaries[name] = json.loads(out.strip().splitlines()[-1])
            print(f"{name}: {summaries[name]['steps']} steps in {summaries[name]['train_seconds']} s", flush=True)

    if args.collect_only:
        summaries = {name: collect(name, env) for name in names if list(OUT_RUNS.glob(f"*-{name}"))}

    results_path = OUT_DOCS / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name, summary in summaries.items():
        version_dir = OUT_MODELS / name / "1"
        proc = subprocess.run([sys.executable, "-m", "training", "evaluate", str(version_dir), "--json", "--log", "-"],
                              cwd=REPO, env=env, capture_output=True, text=True, check=True)  # fmt: skip
        evaluation = json.loads(proc.stdout.strip().splitlines()[-1])
        run_dir = max(OUT_RUNS.glob(f"*-{name}"))
        shutil.copyfile(run_dir / "samples" / "final.png", OUT_DOCS / f"{name}.png")
        shutil.copyfile(run_dir / "loss_curve.png", OUT_DOCS / f"{name}-losses.png")
        results[name] = {"settings": RUNS[name], "budget_minutes": args.minutes, **summary,
                         "model_dir": str(version_dir.relative_to(REPO)), "grid": f"docs/img/compare/{name}.png",
                         "metrics": evaluation["metrics"], "floor": evaluation["floor"]}  # fmt: skip
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {results_path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
