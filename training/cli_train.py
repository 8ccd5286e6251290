"""``python -m training train``: build and validate one config, write it into a numbered run folder, train.

    python -m training train --family dcgan --steps 3000                 # flags for any config field
    python -m training train --preset dcgan-mnist                        # a shipped recipe (training/presets.py)
    python -m training train --config my_run.yaml --seed 3               # a file, flags win
    python -m training train --resume runs/0003-dcgan --steps 6000       # continue (and optionally extend) a run
    torchrun --nproc_per_node 2 -m training train --family dcgan         # DDP (gloo on CPU, NCCL on CUDA)

Layers, later winning: family defaults < preset < config file < flags. The config is saved as
runs/NNNN-<name>/config.json before training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from training.config import ConfigError, TrainConfig, build_config, load_config_file

_HELP = {f.name: f.name.replace("_", " ") for f in dataclasses.fields(TrainConfig)}


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("train", help="train a GAN family", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--preset", help="a named recipe from training/presets.py")
    p.add_argument("--config", type=Path, help="JSON or YAML file of settings")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = type(f.default)
        if kind is bool:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            p.add_argument(flag, dest=f.name, type=kind, default=None, metavar=kind.__name__.upper())
    p.set_defaults(func=run)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}


def run(args: argparse.Namespace) -> int:
    from training import runs
    from training.loop import train
    from training.presets import get_preset

    rank = int(os.environ.get("RANK", "0"))
    try:
        if args.resume:
            if args.preset or args.config:
                raise ConfigError("--resume takes its settings from RUN_DIR/config.json; drop --preset/--config")
            run_dir = args.resume
            saved = json.loads((run_dir / runs.CONFIG_FILE).read_text(encoding="utf-8"))
            cfg = build_config(saved, _flags(args))
        else:
            preset = get_preset(args.preset) if args.preset else {}
            file = load_config_file(args.config) if args.config else {}
            cfg = build_config(preset, file, _flags(args))
            run_dir = Path(cfg.runs_dir)
            if rank == 0:
                run_dir = runs.new_run_dir(Path(cfg.runs_dir), cfg.name)
    except (ConfigError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if rank == 0:
        runs.write_json(run_dir / runs.CONFIG_FILE, cfg.to_dict())
        print(f"run folder: {run_dir}", file=sys.stderr)
    summary = train(cfg, run_dir, resume=bool(args.resume))
    if rank == 0:
        print(json.dumps(summary))
    return 0
