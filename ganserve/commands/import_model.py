"""`ganserve import`: serve an ONNX generator or translator trained elsewhere.

    ganserve import generator.onnx --name my-dcgan                 # -> models/my-dcgan/1
    ganserve import g.onnx --name faces --version 2 --output-range 0 255 --output image

Prints what it inferred; refuses anything ambiguous with the flag that settles it (exit 2, nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_REFUSED = 2


def _range(parser: argparse.ArgumentParser, values: list[float] | None, flag: str) -> tuple[float, float] | None:
    if values is None:
        return None
    if not values[0] < values[1]:
        parser.error(f"{flag} LO HI needs LO < HI, got {values[0]:g} {values[1]:g}")
    return values[0], values[1]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="add an ONNX generator trained elsewhere to the model repository",
        description="Read an ONNX generator or translator, infer its conventions (noise shape, labels, layout, "
        "output range), check it with a dummy run, and write models/NAME/VERSION/ (model.onnx + "
        "manifest.json). Anything ambiguous is refused with the flag to add.",
        epilog="Exit status: 0 imported, 2 refused (nothing written).",
    )
    p.add_argument("model", type=Path, help="the .onnx file")
    p.add_argument("--name", required=True, help="model name (lower-case letters, digits, '.', '_', '-')")
    p.add_argument("--version", default="1", help="version folder (default: %(default)s)")
    p.add_argument("--models-dir", type=Path, default=Path("models"), help="repository root (default: %(default)s)")
    p.add_argument(
        "--kind",
        choices=["unconditional", "conditional", "translation"],
        help="what the model is, when its inputs do not say",
    )
    roles = p.add_argument_group("naming the graph's tensors (when there is more than one candidate)")
    roles.add_argument("--noise", metavar="INPUT", help="the noise input")
    roles.add_argument("--label", metavar="INPUT", help="the class label input (indices or one-hot)")
    roles.add_argument("--image-input", metavar="INPUT", help="a translator's image input")
    roles.add_argument("--output", metavar="OUTPUT", help="the image output, for graphs with several outputs")
    roles.add_argument("--layout", choices=["NCHW", "NHWC"], help="image layout, for shapes that fit both")
    values = p.add_argument_group("values the graph cannot tell")
    values.add_argument(
        "--output-range",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="pixel range of the output, e.g. -1 1, 0 1 or 0 255 (default: from a final Tanh/Sigmoid)",
    )
    values.add_argument(
        "--input-range", nargs=2, type=float, metavar=("LO", "HI"), help="pixel range a translator takes, e.g. -1 1"
    )
    values.add_argument("--class-names", nargs="+", metavar="NAME", help="class names, in index order")
    values.add_argument("--num-classes", type=int, metavar="N", help="number of classes (if no names are given)")
    p.add_argument("--description", default="", help="one line shown by /v1/models")
    p.add_argument("--force", action="store_true", help="replace an existing NAME/VERSION")
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from ganserve.importer import ImportOptions, ImportRefused, import_model  # onnx + onnxruntime: load on use
    from service.manifest import Kind

    options = ImportOptions(
        name=args.name,
        version=args.version,
        models_dir=args.models_dir,
        kind=Kind(args.kind) if args.kind else None,
        noise=args.noise,
        label=args.label,
        image_input=args.image_input,
        output=args.output,
        layout=args.layout,
        output_range=_range(args.parser, args.output_range, "--output-range"),
        input_range=_range(args.parser, args.input_range, "--input-range"),
        class_names=args.class_names,
        num_classes=args.num_classes,
        description=args.description,
        force=args.force,
    )
    try:
        result = import_model(args.model, options)
    except ImportRefused as e:
        print(f"error: {e}", file=sys.stderr)
        print("nothing was written.", file=sys.stderr)
        return EXIT_REFUSED
    for line in result.notes:
        print(f"  {line}")
    m = result.manifest
    print(f"wrote {result.version_dir} (model.onnx + manifest.json, schema v{m.schema_version})")
    print(
        f"serve it: ganserve serve --models-dir {options.models_dir}   "
        f"(or, on a running server with model control: ganserve models load {m.name})"
    )
    return 0
