"""``python -m training export``: export the generator(s) of a finished run to the model repository.

    python -m training export runs/0003-dcgan-mnist                       # -> models/<name>/1
    python -m training export runs/0003-dcgan-mnist --models-dir /tmp/m --version 2 --name my-digits

It rebuilds the family's networks from RUN_DIR/config.json, loads RUN_DIR/checkpoint.pt (weights only) and
writes model.onnx + manifest.json after the ONNX checker and the onnxruntime-vs-PyTorch parity check pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("export", help="export a trained run to ONNX + manifest", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("run_dir", type=Path, help="a run folder with config.json and checkpoint.pt")
    p.add_argument("--models-dir", type=Path, default=Path("models"), help="the model repository (default: models)")
    p.add_argument("--version", default="1", help="version folder to write (default: 1)")
    p.add_argument("--name", help="model name (default: the run's name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from training import runs
    from training.config import ConfigError
    from training.configure import build_config
    from training.data.arrays import DataError
    from training.data.sources import load_train_data
    from training.distributed import DistInfo
    from training.export import ExportError, export_trainer
    from training.families import get_family
    from training.loop import load_checkpoint

    try:
        saved = json.loads((args.run_dir / runs.CONFIG_FILE).read_text(encoding="utf-8"))
        cfg = build_config(saved, {"name": args.name, "export_version": args.version, "device": "cpu"})
        ckpt = load_checkpoint(args.run_dir / runs.CHECKPOINT_FILE)
        family = get_family(cfg.family)
        trainer = family.trainer(cfg, load_train_data(cfg, family.needs), torch.device("cpu"), DistInfo())
        trainer.load_state_dict(ckpt["trainer"])
        summary = {"steps": int(ckpt["step"]), "train_seconds": round(float(ckpt["seconds"]), 1)}
        for path in export_trainer(trainer, cfg, args.models_dir, summary):
            print(path)
    except (ConfigError, DataError, FileNotFoundError, ExportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
