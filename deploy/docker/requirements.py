"""Print the service's runtime requirements from pyproject.toml, one per line, for `pip install -r`.

    python deploy/docker/requirements.py          # as declared (onnxruntime-gpu)
    python deploy/docker/requirements.py --cpu    # the CPU image: onnxruntime instead of onnxruntime-gpu

Only `[project].dependencies` are printed: the `train` and `test` extras (torch, onnx, pytest) never reach an image.
onnxruntime and onnxruntime-gpu ship the same `onnxruntime` module with the same version numbers, so the CPU image
keeps the declared version range and drops several hundred MB of CUDA kernels it could never use.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

GPU_PACKAGE = "onnxruntime-gpu"
CPU_PACKAGE = "onnxruntime"


def requirements(pyproject: Path, *, cpu: bool) -> list[str]:
    deps: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    if not cpu:
        return deps
    swapped = [re.sub(rf"^{re.escape(GPU_PACKAGE)}(?![\w.-])", CPU_PACKAGE, d) for d in deps]
    if swapped == deps:
        raise SystemExit(f"{pyproject}: no {GPU_PACKAGE} dependency to swap for {CPU_PACKAGE}; update this script")
    return swapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help=f"replace {GPU_PACKAGE} with {CPU_PACKAGE}")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    sys.stdout.write("".join(f"{r}\n" for r in requirements(args.pyproject, cpu=args.cpu)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
