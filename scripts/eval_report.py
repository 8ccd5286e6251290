"""Regenerate the tables and sample grids of docs/results.md from the exported models, so no number is typed by hand.

    python scripts/eval_report.py                                   # shipped models/ + runs/compare/models/
    python scripts/eval_report.py --compare path/to/compare/models  # another comparison folder
    python scripts/eval_report.py --blocks colour                   # only the colour (emoji) models' block

Only the blocks between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` are rewritten; the prose
around them is kept. Every model is scored with `evaluate_model_dir` (2,000 samples against the 2,000 held-out
digits, seed 0), exactly what `python -m training evaluate` prints, and each result is appended to
runs/evaluations.jsonl. Grids go to docs/img/.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.manifest import load_manifest
from training.evaluation import evaluate_model_dir
from training.evaluation.calibration import calibration_rows
from training.evaluation.colour import EMOJI_CLASSIFIER_ONNX, colour_set
from training.evaluation.embedding import CLASSIFIER_ONNX
from training.evaluation.grid import save_model_grid
from training.evaluation.report import fmt, log_result, markdown_table

# Row order of the comparison table: the families in the order the issue lists them.
FAMILY_ORDER = ["gan", "dcgan", "wgan", "wgan_gp", "wgan-gp", "cgan"]


def version_dirs(models: Path) -> list[Path]:
    """models/<name>/<version> folders holding a manifest, the highest version of each name."""
    out = []
    for name in sorted(p for p in models.glob("*") if p.is_dir()):
        versions = sorted((v for v in name.iterdir() if (v / "manifest.json").is_file()), key=lambda v: v.name)
        if versions:
            out.append(versions[-1])
    return out


def provenance(version_dir: Path) -> dict[str, Any]:
    return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8")).get("provenance", {})


def classifier_block() -> str:
    info = json.loads(CLASSIFIER_ONNX.with_suffix(".json").read_text(encoding="utf-8"))
    rows = ["| domain (held-out, 2,000 digits) | accuracy |", "|---|---:|"]
    rows += [f"| {d} | {a:.2%} |" for d, a in info["held_out_accuracy"].items()]
    return "\n".join(rows) + (
        f"\n\nTrained in {info['train_seconds']:.0f} s on {info['config']['threads']} CPU threads "
        f"(`{info['command']}`); graph sha256 `{info['sha256'][:16]}…`."
    )


def emoji_classifier_block() -> str:
    info = json.loads(EMOJI_CLASSIFIER_ONNX.with_suffix(".json").read_text(encoding="utf-8"))
    rows = ["| style (held-out emoji, 9 categories) | accuracy |", "|---|---:|"]
    rows += [f"| {d} | {a:.2%} |" for d, a in info["held_out_accuracy"].items()]
    return "\n".join(rows) + (
        f"\n\nTrained in {info['train_seconds']:.0f} s on {info['config']['threads']} CPU threads "
        f"(`{info['command']}`); graph sha256 `{info['sha256'][:16]}…`."
    )


def calibration_block() -> str:
    rows = calibration_rows()
    floor = rows[0][1]["frechet_distance"]
    out = [
        (
            "| 2,000 images scored against the held-out digits | Fréchet distance | x floor | precision | recall "
            "| min class | max class | classifier score |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in rows:
        out.append(
            f"| {name} | {fmt(m['frechet_distance'])} | {m['frechet_distance'] / floor:.1f} | {fmt(m['precision'])} "
            f"| {fmt(m['recall'])} | {_pct(m['class_min_share'])} | {_pct(m['class_max_share'])} "
            f"| {fmt(m['classifier_score'])} |"
        )
    return "\n".join(out)


def seed_spread(vdir: Path, r: dict[str, Any], seeds: int) -> str:
    """A generator's figures are one draw of noise: re-run with other noise seeds and say how much they move."""
    if r["kind"] == "translation" or seeds < 2:
        return ""
    runs = [r] + [evaluate_model_dir(vdir, n=r["n"], seed=s) for s in range(1, seeds)]
    fd = [x["ratio"]["frechet_distance"] for x in runs]
    met = sum(x["passed"] for x in runs)
    return (
        f" Over noise seeds 0-{seeds - 1}: Fréchet distance {min(fd):.2f}x to {max(fd):.2f}x the floor, "
        f"all targets met with {met} of {seeds} seeds."
    )


def floor_note(r: dict[str, Any]) -> list[str]:
    if "frechet_distance" not in r.get("floor_range", {}):
        return []
    lo, hi = r["floor_range"]["frechet_distance"]
    spread = f"the Fréchet distance floor ranges {fmt(lo)} to {fmt(hi)} across them"
    return [
        f"Floors of distribution figures: mean over {r['floor_subsets']} subsets of {r['n']} training "
        f"{'emoji' if r.get('data') else 'digits'} ({spread}).",
        "",
    ]


def shipped_block(results: list[tuple[Path, dict[str, Any]]], img_dir: Path, page: Path, seeds: int) -> str:
    parts = []
    for vdir, r in results:
        prov = provenance(vdir)
        img = img_dir / f"{r['model']}.png"
        save_model_grid(vdir, img)
        head = f"### {r['model']} ({r['kind']}"
        if r["task"]:
            head += f", task `{r['task']}`, {r['direction']})"
        else:
            head += f", data `{r['data']}`)" if r.get("data") else ")"
        verdict = (
            "**all targets met**"
            if r["passed"]
            else "**targets missed: " + ", ".join(k for k, t in r["targets"].items() if t["pass"] is not True) + "**"
        )
        secs, cpu = prov.get("train_seconds"), prov.get("cpu_seconds")
        trained = f"Family `{prov.get('family', '?')}`"
        trained += f", {prov.get('steps')} steps in {secs / 60:.1f} min" if secs else ""
        trained += f" ({cpu / 60:.1f} CPU min)." if cpu else "."
        parts += [
            head,
            "",
            f"{verdict}. {trained}{seed_spread(vdir, r, seeds)}",
            "",
            markdown_table(r),
            "",
            *floor_note(r),
            f"![{r['model']} samples]({img.relative_to(page.parent).as_posix()})",
            "",
        ]
    return "\n".join(parts).rstrip()


def _yes(v: Any) -> str:
    return "yes" if v else "no"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def compare_block(results: list[tuple[Path, dict[str, Any]]], img_dir: Path, page: Path) -> str:
    if not results:
        return "_No comparison runs were found; see the note above._"

    def order(item: tuple[Path, dict[str, Any]]) -> tuple[int, str]:
        fam = provenance(item[0]).get("family", "")
        return (FAMILY_ORDER.index(fam) if fam in FAMILY_ORDER else len(FAMILY_ORDER), item[1]["model"])

    results = sorted(results, key=order)
    rows = [
        (
            "| run | family | loss | spectral norm | mbstd | EMA | steps | train min | Fréchet distance | x floor "
            "| KID | precision | recall | min class | max class | classes | classifier score |"
        ),
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    grids = []
    for vdir, r in results:
        prov = provenance(vdir)
        cfg = prov.get("config", {})
        m = r["metrics"]
        secs = prov.get("train_seconds")
        rows.append(
            f"| {r['model']} | {prov.get('family', '?')} | {cfg.get('loss', '?')} | {_yes(cfg.get('spectral_norm'))} "
            f"| {_yes(cfg.get('mbstd'))} | {_yes(cfg.get('ema_decay'))} | {prov.get('steps', cfg.get('steps', '?'))} "
            f"| {f'{secs / 60:.1f}' if secs else '-'} | {fmt(m['frechet_distance'])} | {fmt(r['ratio'].get('frechet_distance'))} "
            f"| {fmt(m['kid'])} | {fmt(m['precision'])} | {fmt(m['recall'])} | {_pct(m.get('class_min_share'))} "
            f"| {_pct(m.get('class_max_share'))} | {fmt(m.get('classes_covered'), 'classes_covered')} | {fmt(m.get('classifier_score'))} |"
        )
        img = img_dir / "compare" / f"{r['model']}-samples.png"
        save_model_grid(vdir, img)
        # loss curves are written by scripts/compare_families.py beside its own copies of the grids
        curve = img_dir / "compare" / f"{r['model']}-losses.png"
        curve_md = f"![{r['model']} losses]({curve.relative_to(page.parent).as_posix()})" if curve.is_file() else "-"
        grids.append(f"| {r['model']} | ![{r['model']}]({img.relative_to(page.parent).as_posix()}) | {curve_md} |")
    floor = next((r["floor"] for _, r in results if r["kind"] == "unconditional"), results[0][1]["floor"])
    note = (
        f"\n\nReal-vs-real floor at the same sample count: Fréchet distance {fmt(floor['frechet_distance'])}, "
        f"KID {fmt(floor['kid'])}, precision {fmt(floor['precision'])}, recall {fmt(floor['recall'])}, "
        f"class shares {_pct(floor.get('class_min_share'))}–{_pct(floor.get('class_max_share'))}, "
        f"classifier score {fmt(floor.get('classifier_score'))}."
    )
    return (
        "\n".join(rows)
        + note
        + "\n\n| run | samples (fixed noise, seed 0) | training losses |\n|---|---|---|\n"
        + "\n".join(grids)
    )


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"page has no <!-- generated:{name} --> ... <!-- /generated:{name} --> block; add one")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def evaluate_all(dirs: list[Path], n: int, log: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for d in dirs:
        r = evaluate_model_dir(d, n=n)
        log_result(r, log)
        print(f"{d}: passed={r['passed']} ({r['seconds']:.1f}s)", flush=True)
        out.append((d, r))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, default=ROOT / "models")
    p.add_argument("--compare", type=Path, default=ROOT / "runs" / "compare" / "models")
    p.add_argument("--page", type=Path, default=ROOT / "docs" / "results.md")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=5, help="noise seeds per shipped generator, for the spread")
    p.add_argument("--log", type=Path, default=ROOT / "runs" / "evaluations.jsonl")
    p.add_argument("--json-out", type=Path, help="also write every result as one JSON file")
    p.add_argument("--blocks", choices=["all", "colour"], default="all", help="which blocks to regenerate")
    args = p.parse_args(argv)
    img_dir = args.page.parent / "img"
    dirs = version_dirs(args.models)
    colour_dirs = [d for d in dirs if colour_set(load_manifest(d))]
    colour = evaluate_all(colour_dirs, args.n, args.log)
    shipped: list[tuple[Path, dict[str, Any]]] = []
    compare: list[tuple[Path, dict[str, Any]]] = []
    text = args.page.read_text(encoding="utf-8")
    text = replace_block(text, "emoji-classifier", emoji_classifier_block())
    text = replace_block(text, "colour", shipped_block(colour, img_dir, args.page, args.seeds))
    if args.blocks == "all":
        shipped = evaluate_all([d for d in dirs if d not in colour_dirs], args.n, args.log)
        compare = evaluate_all(version_dirs(args.compare), args.n, args.log) if args.compare.is_dir() else []
        text = replace_block(text, "classifier", classifier_block())
        text = replace_block(text, "calibration", calibration_block())
        text = replace_block(text, "shipped", shipped_block(shipped, img_dir, args.page, args.seeds))
        text = replace_block(text, "compare", compare_block(compare, img_dir, args.page))
    args.page.write_text(text, encoding="utf-8")
    shipped += colour
    if args.json_out:
        args.json_out.write_text(json.dumps([r for _, r in shipped + compare], indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.page} ({len(shipped)} shipped, {len(compare)} comparison models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
