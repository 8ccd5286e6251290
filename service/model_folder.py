"""What the models folder holds: model names, version folders, and a fingerprint of each model's manifests (for
GANSERVE_MODEL_CONTROL=poll, which reloads a model whose fingerprint changed)."""

from __future__ import annotations

import re
from pathlib import Path

from service.manifest import MANIFEST_FILE, NAME_PATTERN
from service.registry import version_order

Fingerprint = tuple[tuple[str, int, int], ...]


def model_names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(NAME_PATTERN, p.name))


def version_names(root: Path, name: str) -> list[str]:
    folder = root / name
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=version_order)


def fingerprints(root: Path, previous: dict[str, Fingerprint] | None = None) -> dict[str, Fingerprint]:
    """Per model, (version, manifest mtime, size) of each version; a model with an import in progress keeps
    its previous fingerprint, so it is not loaded half-written."""
    out: dict[str, Fingerprint] = {}
    for name in model_names(root):
        folder = root / name
        try:
            importing = any(".import-" in p.name for p in folder.iterdir())
        except OSError:  # removed since it was listed
            continue
        if importing:
            if previous is not None and name in previous:
                out[name] = previous[name]
            continue
        stats = []
        for version in version_names(root, name):
            try:
                stat = (folder / version / MANIFEST_FILE).stat()
            except OSError:
                continue
            stats.append((version, stat.st_mtime_ns, stat.st_size))
        out[name] = tuple(sorted(stats))
    return out
