"""Run folders and what goes in them.

runs/NNNN-<name>/config.json      written first, before any training
                 log.jsonl        one JSON object per logged step (losses, it/s), appended
                 samples/NNNNNN.png  grids from fixed noise during training
                 checkpoint.pt    the latest state (torch.save of state dicts; load with weights_only=True)
                 loss_curve.png   at the end
                 summary.json     at the end: steps, seconds, exported models
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from service.manifest import write_atomic

CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"


def new_run_dir(runs_dir: Path, name: str) -> Path:
    """Create runs_dir/NNNN-name with the next free number (safe against a concurrent run taking it)."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    while True:
        taken = [int(m.group(1)) for p in runs_dir.iterdir() if (m := re.match(r"(\d{4})-", p.name))]
        path = runs_dir / f"{max(taken, default=-1) + 1:04d}-{name}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line (keys sorted), creating the folder; the one JSONL writer of the package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_losses(log_path: Path, out: Path) -> None:
    """One line per logged loss against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_jsonl(log_path) if "step" in r]
    keys = sorted({k for r in records for k in r if k.startswith("loss") or k in ("l1", "cycle", "identity")})
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in keys:
        pts = [(r["step"], r[k]) for r in records if k in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, linewidth=1)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
