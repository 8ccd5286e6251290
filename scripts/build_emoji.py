"""Build the embedded colour data set, data/emoji/emoji32.npz, from the npm packages of the emoji-data project.

    python scripts/build_emoji.py                    # npm pack both packages into a temp dir, write the .npz
    python scripts/build_emoji.py --size 64 --out /tmp/emoji64.npz      # a larger copy for your own runs

Sources (pinned): emoji-datasource-google@16.0.0 (Noto Color Emoji images, Apache License 2.0) and
emoji-datasource-twitter@16.0.0 (Twemoji images, CC BY 4.0); the packages' code and emoji.json are MIT.
Every emoji that both sets draw, without skin-tone variants and without the 'Component' category (skin-tone
swatches, hair), is laid on white, resized from 64 px with a Lanczos filter, and stored as uint8:

    noto, twemoji   (N, S, S, 3)   the same emoji in the two styles, row i the same emoji
    labels          (N,)           index of its Unicode category in class_names (sorted)
    class_names     (K,)           the categories, e.g. "Animals & Nature"
    names           (N,)           short names, e.g. "grinning"

Needs `npm` on PATH (the project's machines reach the npm registry). The result is deterministic for a given
package version, and the tarballs' sha512 integrity is written into data/emoji/SOURCE.json beside it.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
VERSION = "16.0.0"
PACKAGES = {"noto": ("emoji-datasource-google", "google"), "twemoji": ("emoji-datasource-twitter", "twitter")}
SKIP_CATEGORIES = {"Component"}


def npm_pack(package: str, workdir: Path) -> tuple[Path, dict[str, str]]:
    out = subprocess.run(["npm", "pack", f"{package}@{VERSION}", "--json"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    info = json.loads(out)[0]
    return workdir / info["filename"], {"package": f"{package}@{VERSION}", "integrity": info["integrity"]}


def members(tgz: Path, wanted: set[str]) -> dict[str, bytes]:
    with tarfile.open(tgz, "r:gz") as tar:
        out = {}
        for m in tar.getmembers():
            if m.name in wanted:
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
        return out


def to_array(png: bytes, size: int) -> np.ndarray:
    """PNG bytes with alpha -> uint8 (size, size, 3) on white."""
    with Image.open(io.BytesIO(png)) as f:
        im = f.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(white, im).convert("RGB")
    return np.asarray(im.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def build(size: int, workdir: Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    tarballs, sources = {}, []
    for style, (package, _) in PACKAGES.items():
        tarballs[style], src = npm_pack(package, workdir)
        sources.append(src)
    meta = json.loads(members(tarballs["noto"], {"package/emoji.json"})["package/emoji.json"])
    drawn = [e for e in meta if e.get("has_img_google") and e.get("has_img_twitter")]
    emoji = sorted((e for e in drawn if e["category"] not in SKIP_CATEGORIES), key=lambda e: e["sort_order"])
    class_names = sorted({e["category"] for e in emoji})
    arrays: dict[str, np.ndarray] = {}
    for style, (_, folder) in PACKAGES.items():
        paths = [f"package/img/{folder}/64/{e['image']}" for e in emoji]
        files = members(tarballs[style], set(paths))
        arrays[style] = np.stack([to_array(files[p], size) for p in paths])
    arrays["labels"] = np.array([class_names.index(e["category"]) for e in emoji], dtype=np.int64)
    arrays["class_names"] = np.array(class_names)
    arrays["names"] = np.array([e["short_name"] for e in emoji])
    counts = {c: int((arrays["labels"] == i).sum()) for i, c in enumerate(class_names)}
    source = {"sources": sources, "size": size, "emoji": len(emoji), "per_category": counts,
              "command": "python scripts/build_emoji.py" + (f" --size {size}" if size != 32 else ""),
              "licences": {"noto": "Apache License 2.0 (Noto Emoji images)", "twemoji": "CC BY 4.0 (Twemoji graphics)",
                           "emoji.json": "MIT (emoji-data)"}}  # fmt: skip
    return arrays, source


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=32, help="side of the square images (default 32)")
    p.add_argument("--out", type=Path, default=ROOT / "data" / "emoji" / "emoji32.npz")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        arrays, source = build(args.size, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    (args.out.parent / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(arrays['labels'])} emoji, {args.out.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
