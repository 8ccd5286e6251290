"""Turn an evaluation result into a table, a JSONL record, and the metrics block of the model's manifest."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.manifest import load_manifest, sha256_file, write_manifest
from training.evaluation.metrics import TITLES
from training.runs import append_jsonl

RESULT_LOG = Path("runs") / "evaluations.jsonl"


COUNTS = {"classes_covered"}  # figures that are whole numbers, printed without decimals


def fmt(v: Any, key: str = "") -> str:
    if key in COUNTS and isinstance(v, float):
        return str(int(v))
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "pass" if v else "FAIL"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
            return f"{v:.2e}"
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.2f}"
    return str(v)


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table: figure, value, real-vs-real floor, ratio, target, pass/fail."""
    head = f"{result['model']}/{result['version']} ({result['kind']}"
    if result.get("task"):
        head += f", task {result['task']}, {result['direction']}"
    what = f"emoji ({result['data']})" if result.get("data") else "digits"
    head += f"): {result['n']} samples vs {result['n']} held-out {what}, seed {result['seed']}"
    rows = [("figure", "value", "floor", "ratio", "target", "pass")]
    for key, title in TITLES.items():
        if key not in result["metrics"]:
            continue
        target = result["targets"].get(key)
        rows.append(
            (
                title,
                fmt(result["metrics"][key], key),
                fmt(result["floor"].get(key), key),
                fmt(result["ratio"].get(key)),
                target["target"] if target else "",
                ("-" if target["pass"] is None else fmt(target["pass"])) if target else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if "frechet_distance" in result.get("floor_range", {}):
        lo, hi = result["floor_range"]["frechet_distance"]
        spread = f"Fréchet distance floor {fmt(lo)} to {fmt(hi)} across them"
        lines += [
            "",
            f"floor: mean over {result['floor_subsets']} subsets of {result['n']} training {'emoji' if result.get('data') else 'digits'} ({spread})",
        ]
    if "class_shares" in result["metrics"]:
        shares = " ".join(f"{d}:{s:.3f}" for d, s in enumerate(result["metrics"]["class_shares"]))
        floor = " ".join(f"{d}:{s:.3f}" for d, s in enumerate(result["floor"]["class_shares"]))
        lines += ["", f"class shares  {shares}", f"floor         {floor}"]
    verdict = (
        "all targets met"
        if result["passed"]
        else "targets missed: " + ", ".join(k for k, t in result["targets"].items() if t["pass"] is not True)
    )
    lines += ["", f"{verdict}  ({result['seconds']:.1f}s)"]
    return "\n".join(lines)


def markdown_table(result: dict[str, Any]) -> str:
    """The same figures as format_table, as a Markdown table."""
    rows = ["| figure | value | real-vs-real floor | ratio | target | pass |", "|---|---:|---:|---:|---|---|"]
    for key, title in TITLES.items():
        if key not in result["metrics"]:
            continue
        target = result["targets"].get(key)
        verdict = "" if not target else ("-" if target["pass"] is None else fmt(target["pass"]))
        rows.append(
            f"| {title} | {fmt(result['metrics'][key], key)} | {fmt(result['floor'].get(key), key)} | "
            f"{fmt(result['ratio'].get(key))} | {target['target'] if target else ''} | {verdict} |"
        )
    return "\n".join(rows)


def log_result(result: dict[str, Any], path: Path = RESULT_LOG) -> None:
    """Append one evaluation as a JSON line, stamped with the time, so runs can be compared later."""
    append_jsonl(path, {"time": datetime.now(UTC).isoformat(timespec="seconds"), **result})


def store_in_manifest(version_dir: Path, result: dict[str, Any]) -> None:
    """Write the figures into manifest.provenance["metrics"], atomically; model.onnx (and its sha256) is untouched."""
    manifest = load_manifest(version_dir)
    onnx_path = version_dir / manifest.onnx_file
    if sha256_file(onnx_path) != manifest.sha256:
        raise ValueError(f"{onnx_path}: sha256 differs from the manifest; re-export the model before storing metrics")
    if result["sha256"] != manifest.sha256:
        raise ValueError(f"{version_dir}: these metrics were measured on another model.onnx; evaluate again")
    keep = ("n", "seed", "classifier_sha256", "metrics", "floor", "floor_range", "ratio", "targets", "passed")
    block = {k: result[k] for k in keep}
    block["command"] = f"python -m training evaluate {version_dir} --write"
    manifest.provenance["metrics"] = block
    write_manifest(version_dir, manifest)
