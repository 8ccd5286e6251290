"""`ganserve translate`: run an image-to-image model on one image.

ganserve translate digit.png --model pix2pix-edges --out translated.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganserve.client import Client
from ganserve.commands.options import EPILOG, add_server_options, with_client
from ganserve.results import tile


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "translate",
        help="translate an image with a model on a running server",
        description="Send one PNG or JPEG to a translation model and save its answer.",
        epilog=EPILOG,
    )
    p.add_argument("image", type=Path, help="input PNG or JPEG")
    p.add_argument("--model", required=True, help="translation model name (see `ganserve models`)")
    p.add_argument("--out", type=Path, default=Path("translated.png"), help="output PNG (default: %(default)s)")
    p.add_argument(
        "--side-by-side", action="store_true", help="write the input (resized) and the translation next to each other"
    )
    add_server_options(p)
    p.set_defaults(func=with_client(run))


def run(client: Client, args: argparse.Namespace) -> int:
    if not args.image.is_file():
        raise ValueError(f"{args.image}: no such file")
    out = client.translate(args.model, args.image)
    result = out.images[0]
    if args.side_by_side:
        from PIL import Image

        translated = result.image
        with Image.open(args.image) as original:
            tile([original.convert(translated.mode).resize(translated.size), translated], cols=2).save(args.out)
    else:
        result.save(str(args.out))
    print(f"wrote {args.out}: {args.image} translated by {out.model} v{out.version}")
    return 0
