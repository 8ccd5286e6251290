"""``python -m training train``: build and validate one config, load and check the data, write the config into a
numbered run folder, train.

    python -m training train --family dcgan --steps 3000                 # the embedded digits
    python -m training train --family dcgan --data faces/ --image-size 64 --flip      # a folder of your images
    python -m training train --family cgan --data emoji                  # a built-in set (training/data/builtin.py)
    python -m training train --family pix2pix --data facades/ --image-size 128        # A|B side-by-side pairs
    python -m training train --family cyclegan --data horse2zebra/ --image-size 64    # trainA/ + trainB/
    python -m training train --preset dcgan-mnist                        # a shipped recipe (training/presets.py)
    python -m training train --config my_run.yaml --seed 3               # a file, flags win
    python -m training train --resume runs/0003-dcgan --steps 6000       # continue (and optionally extend) a run
    torchrun --nproc_per_node 2 -m training train --family dcgan         # DDP (gloo on CPU, NCCL on CUDA)

Layers, later winning: family defaults < preset < config file < flags. Bad data (an empty folder, mixed sizes
without --image-size, an unsupported size, pairs that are not side by side, ...) is refused before anything
is written; the config is saved as runs/NNNN-<name>/config.json before training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from training.config import IMAGE_SIZES, ConfigError, TrainConfig, load_config_file

HELP: dict[str, str] = {
    "family": "GAN family: gan | dcgan | wgan | wgan-gp | cgan | selfcond | pix2pix | cyclegan",
    "name": "run and model name (default: the family)",
    "task": "translation on the embedded digits: lowres (pix2pix) | thicken (cyclegan)",
    "data": "a folder, .npz or IDX file of your images, or a built-in set: digits (default), emoji, "
    "emoji-twemoji, emoji-noto2twemoji",
    "layout": "force the data layout: idx | npz | images | classes | pairs | unpaired (default: detected)",
    "image_size": f"resize images to this square size, one of {', '.join(map(str, IMAGE_SIZES))} "
    "(default: the data's own size, which must be one of them)",
    "channels": "1 (grayscale) or 3 (RGB); default: follow the data",
    "resize": "how --image-size fits an image: crop (shorter side, centre crop; default) | pad | stretch",
    "flip": "mirror training images left-right at random (both sides of a pair together)",
    "strict": "refuse unreadable or non-image files instead of skipping them with a count",
    "steps": "generator updates",
    "batch_size": "images per step",
    "lr_g": "generator learning rate",
    "lr_d": "discriminator learning rate",
    "beta1": "Adam beta1",
    "beta2": "Adam beta2",
    "latent_dim": "noise size of the generator",
    "width": "base channel count of the networks (hidden size / 8 for the MLP)",
    "generator": "translation families: unet | resnet (default: unet for pix2pix, resnet for cyclegan)",
    "loss": "adversarial loss: nonsaturating | minimax | hinge | lsgan | wasserstein (default: the family's)",
    "label_smoothing": "one-sided: the discriminator's target for real images is 1 - this",
    "spectral_norm": "spectral normalisation on every discriminator layer",
    "mbstd": "minibatch standard deviation feature in the discriminator",
    "ema_decay": "exponential moving average of the generator's weights, exported when > 0",
    "n_critic": "discriminator steps per generator step",
    "clip_value": "WGAN weight clipping",
    "gp_weight": "WGAN-GP gradient penalty weight",
    "l1_weight": "pix2pix L1 weight",
    "cycle_weight": "CycleGAN cycle-consistency weight",
    "identity_weight": "CycleGAN identity weight, relative to the cycle weight",
    "pool_size": "CycleGAN pool of past fakes",
    "clusters": "selfcond: k-means clusters that stand in for class labels",
    "seed": "random seed (data order, noise, initial weights)",
    "device": "auto | cpu | cuda",
    "amp": "bf16 autocast on CUDA",
    "threads": "torch intra-op threads (0: torch's default)",
    "log_every": "steps between log.jsonl records",
    "sample_every": "steps between sample grids",
    "checkpoint_every": "steps between checkpoints",
    "max_minutes": "stop early (and say so) after this much wall time; 0 = never",
    "runs_dir": "where run folders go",
    "export_dir": "export to EXPORT_DIR/<name>/<export_version>/ at the end (default: no export)",
    "export_version": "version folder of the export",
}


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
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=HELP[f.name])
        else:
            p.add_argument(flag, dest=f.name, type=kind, default=None, metavar=kind.__name__.upper(),
                           help=f"{HELP[f.name]} (default: {f.default!r})")  # fmt: skip
    p.set_defaults(func=run)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}


def run(args: argparse.Namespace) -> int:
    from training import runs
    from training.configure import build_config
    from training.data.arrays import DataError
    from training.data.sources import load_train_data
    from training.families import get_family
    from training.loop import train
    from training.presets import get_preset

    rank = int(os.environ.get("RANK", "0"))
    try:
        if args.resume:
            if args.preset or args.config:
                raise ConfigError("--resume takes its settings from RUN_DIR/config.json; drop --preset/--config")
            saved = json.loads((args.resume / runs.CONFIG_FILE).read_text(encoding="utf-8"))
            cfg = build_config(saved, _flags(args))
        else:
            preset = get_preset(args.preset) if args.preset else {}
            file = load_config_file(args.config) if args.config else {}
            cfg = build_config(preset, file, _flags(args))
        data = load_train_data(cfg, get_family(cfg.family).needs)  # bad data fails here, before any run folder
    except (ConfigError, DataError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if rank == 0:
        for note in data.notes:
            print(f"note: {note}", file=sys.stderr)
    run_dir = args.resume or Path(cfg.runs_dir)
    if rank == 0:
        if not args.resume:
            run_dir = runs.new_run_dir(Path(cfg.runs_dir), cfg.name)
        runs.write_json(run_dir / runs.CONFIG_FILE, cfg.to_dict())
        print(f"run folder: {run_dir}", file=sys.stderr)
    summary = train(cfg, run_dir, resume=bool(args.resume), data=data)
    if rank == 0:
        print(json.dumps(summary))
    return 0
