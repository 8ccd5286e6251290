"""`ganserve interpolate`: a strip of images walking the noise from one seed to another.

ganserve interpolate --model dcgan-mnist --seeds 3 11 --steps 10 --out walk.png
ganserve interpolate --model cgan-mnist --seeds 3 3 --labels 1 7 --method lerp --out one-to-seven.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganserve.client import Client
from ganserve.commands.options import EPILOG, add_server_options, parse_label, with_client


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "interpolate",
        help="interpolate between two seeds (and classes) on a running server",
        description="Walk the latent noise from seed A to seed B (and class A to class B for "
        "conditional models) and save the steps as one strip.",
        epilog=EPILOG,
    )
    p.add_argument("--model", required=True, help="model name (see `ganserve models`)")
    p.add_argument("--seeds", nargs=2, type=int, required=True, metavar=("A", "B"), help="the two end seeds")
    p.add_argument(
        "--labels",
        nargs=2,
        type=parse_label,
        metavar=("LA", "LB"),
        help="conditional models: the classes at the two ends",
    )
    p.add_argument("--steps", type=int, default=8, help="images in the strip, ends included, 2..64 (default: 8)")
    p.add_argument(
        "--method",
        choices=["slerp", "lerp"],
        default="slerp",
        help="spherical or linear interpolation (default: slerp)",
    )
    p.add_argument("--truncation", type=float, help="scale the noise toward its mean, in (0, 1]")
    p.add_argument("--out", type=Path, default=Path("interpolation.png"), help="strip PNG (default: %(default)s)")
    add_server_options(p)
    p.set_defaults(func=with_client(run))


def run(client: Client, args: argparse.Namespace) -> int:
    out = client.interpolate(
        args.model, args.seeds, labels=args.labels, steps=args.steps, method=args.method, truncation=args.truncation
    )
    out.save_grid(str(args.out), cols=len(out.images))
    print(
        f"wrote {args.out}: {len(out.images)} steps from seed {args.seeds[0]} to {args.seeds[1]} "
        f"({args.method}) with {out.model} v{out.version}"
    )
    return 0
