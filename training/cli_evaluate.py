"""`python -m training evaluate`: score exported models on the project's digit classifier, beside the floor.

    python -m training evaluate models/dcgan-mnist/1                 # table: value, floor, ratio, target, pass
    python -m training evaluate models/dcgan-mnist/1 --write         # also store the figures in its manifest
    python -m training evaluate models/*/1 --json                    # one JSON object per model on stdout

Each evaluation is also appended to runs/evaluations.jsonl (see --log).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.manifest import ManifestError
from training.data.mnist import N_HELD_OUT


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score exported models against the real-vs-real floor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("version_dirs", nargs="+", type=Path, metavar="models/<name>/<version>")
    p.add_argument("--n", type=int, default=N_HELD_OUT, help="samples per set (default: %(default)s, all held-out)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generator's noise (default: %(default)s)")
    p.add_argument("--write", action="store_true", help="store the figures in manifest.provenance['metrics']")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--log",
        type=Path,
        default=Path("runs/evaluations.jsonl"),
        help="JSONL file each result is appended to (default: %(default)s); '-' for none",
    )
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `python -m training train --help` does not load onnxruntime.
    from training.evaluation import EvaluationError, evaluate_model_dir
    from training.evaluation.report import format_table, log_result, store_in_manifest

    missed = False
    for version_dir in args.version_dirs:
        try:
            result = evaluate_model_dir(version_dir, n=args.n, seed=args.seed)
            if args.write:
                store_in_manifest(version_dir, result)
        except (EvaluationError, ManifestError, FileNotFoundError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if str(args.log) != "-":
            log_result(result, args.log)
        missed |= not result["passed"]
        print(json.dumps(result) if args.json else format_table(result) + "\n", flush=True)
    return 1 if (args.strict and missed) else 0
