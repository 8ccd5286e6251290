"""`ganserve generate`: images from a generator, saved as one grid (and optionally one file each).

ganserve generate --model dcgan-mnist --n 16 --seed 7 --out grid.png
ganserve generate --model cgan-mnist --n 10 --labels 0 1 2 3 4 5 6 7 8 9 --out digits.png --each digits/
ganserve generate --model cgan-emoji --n 8 --format jpeg --quality 80 --each emoji/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganserve.client import Client
from ganserve.commands.options import EPILOG, add_server_options, parse_label, with_client


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "generate",
        help="generate images with a model on a running server",
        description="Generate images and save them as a grid. Image i has seed SEED+i, "
        "so any image can be reproduced alone from its seed.",
        epilog=EPILOG,
    )
    p.add_argument("--model", required=True, help="model name (see `ganserve models`)")
    p.add_argument("--n", type=int, default=16, help="number of images (default: 16)")
    p.add_argument("--seed", type=int, help="seed of the first image (default: the server picks one)")
    p.add_argument(
        "--labels",
        nargs="+",
        type=parse_label,
        metavar="CLASS",
        help="conditional models: one class (index or name) for all images, or one per image",
    )
    p.add_argument("--truncation", type=float, help="scale the noise toward its mean, in (0, 1] (default: 1)")
    p.add_argument("--version", help="model version (default: the newest)")
    p.add_argument("--out", type=Path, default=Path("grid.png"), help="grid PNG to write (default: %(default)s)")
    p.add_argument("--cols", type=int, help="images per grid row (default: near-square)")
    p.add_argument(
        "--each",
        type=Path,
        metavar="DIR",
        help="also write every image to DIR/<seed>.<format> as the server wrote it, provenance included",
    )
    p.add_argument(
        "--format",
        choices=["png", "jpeg", "webp"],
        help="the pictures' format on the wire and in --each (default: png, lossless)",
    )
    p.add_argument("--quality", type=int, help="jpeg/webp quality, 1-100 (default: the server's, 90)")
    add_server_options(p)
    p.set_defaults(func=with_client(run))


def run(client: Client, args: argparse.Namespace) -> int:
    labels = args.labels[0] if args.labels and len(args.labels) == 1 else args.labels
    out = client.generate(
        args.model,
        args.n,
        seed=args.seed,
        labels=labels,
        truncation=args.truncation,
        version=args.version,
        format=args.format,
        quality=args.quality,
    )
    out.save_grid(str(args.out), cols=args.cols)
    if args.each:
        args.each.mkdir(parents=True, exist_ok=True)
        for im in out.images:
            im.save(str(args.each / f"{im.seed}.{im.format}"))
    labels_text = "" if all(lb is None for lb in out.labels) else f" labels {out.labels}"
    count = f"{len(out.images)} image" + ("s" if len(out.images) != 1 else "")
    print(
        f"wrote {args.out}: {count} from {out.model} v{out.version}, seeds {out.seeds[0]}..{out.seeds[-1]}{labels_text}"
    )
    return 0
