"""Check an import through the service's own runtime, then write `models/NAME/VERSION/` in one rename.

The version folder is built as a hidden sibling (`.VERSION.import-*`, which the registry and the repository
poller skip) and renamed into place only when complete; on any failure it is removed, so a refused or broken
import leaves the repository exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pydantic import ValidationError

from ganserve.importer.errors import ImportRefused
from ganserve.importer.graph import read_graph
from ganserve.importer.options import ImportOptions
from ganserve.importer.plan import plan_manifest
from service.adapters import generator_feeds, output_nchw
from service.manifest import NAME_PATTERN, VERSION_PATTERN, Manifest, write_atomic, write_manifest
from service.noise import seeded_noise
from service.runtime import Runtime, RuntimeLoadError, check_graph

STAGING_MARK = ".import-"  # in the name of a version folder being written


@dataclass
class ImportResult:
    version_dir: Path
    manifest: Manifest
    notes: list[str]


def import_model(source: Path, options: ImportOptions) -> ImportResult:
    """Read, infer, check and publish; ImportRefused (nothing written) when anything is wrong or ambiguous."""
    if not re.fullmatch(NAME_PATTERN, options.name):
        raise ImportRefused(f"--name {options.name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-'")
    if not re.fullmatch(VERSION_PATTERN, options.version):
        raise ImportRefused(f"--version {options.version!r}: use 1-32 letters, digits, '.', '_' or '-'")
    target = options.models_dir / options.name / options.version
    if target.exists() and not options.force:
        raise ImportRefused(f"{target} already exists: add --force to replace it, or choose another --version")
    graph = read_graph(source)
    fields, notes = plan_manifest(graph, options)
    fields["description"] = options.description or f"imported from {source.name}"
    fields["sha256"] = hashlib.sha256(graph.data).hexdigest()
    fields["provenance"] = {
        "imported_from": source.name,
        "producer": graph.producer,
        "importer": "ganserve import",
        "inferred": notes,
    }
    try:
        manifest = Manifest.model_validate(fields)
    except ValidationError as e:
        reasons = "; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())
        raise ImportRefused(f"the model cannot be described by a manifest: {reasons}") from None
    notes.extend(check(graph.session, manifest))
    write_version(target, graph.data, manifest)
    return ImportResult(target, manifest, notes)


def check(session: ort.InferenceSession, manifest: Manifest) -> list[str]:
    """Run the model the way the server will (its adapters, its warm-up) at two batch sizes, or at 1 when fixed."""
    runtime = Runtime(session, manifest)
    sizes = [1] if manifest.fixed_batch else [1, 3]
    try:
        check_graph(runtime.session, manifest)
        runtime.warm_up(sizes)
    except RuntimeLoadError as e:
        raise ImportRefused(f"the dummy run failed: {e}") from None
    notes = [f"dummy run: batch {' and '.join(map(str, sizes))} ok"]
    if manifest.latent_dim:  # a generator: where do its images fall on real noise?
        n = 1 if manifest.fixed_batch else 4
        labels = np.arange(n, dtype=np.int64) % manifest.num_classes if manifest.num_classes else None
        rows = output_nchw(
            manifest, runtime.run(generator_feeds(manifest, seeded_noise(range(n), manifest.latent_dim), labels))
        )
        lo, hi = float(rows.min()), float(rows.max())
        (want_lo, want_hi), slack = manifest.output_range, 0.01 * (manifest.output_range[1] - manifest.output_range[0])
        notes.append(f"seeded noise gives outputs in [{lo:.3g}, {hi:.3g}]")
        if lo < want_lo - slack or hi > want_hi + slack:
            notes.append(
                f"warning: that is outside the output range [{want_lo:g}, {want_hi:g}]; pixels beyond it "
                "are clipped (set --output-range if the range is wrong)"
            )
    return notes


def write_version(target: Path, model: bytes, manifest: Manifest) -> None:
    """Build the folder beside `target`, then rename it into place (replacing an old one); all or nothing."""
    created = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{STAGING_MARK}"))
    old = target.parent / f".{target.name}{STAGING_MARK}replaced-{uuid.uuid4().hex[:8]}"
    try:
        os.chmod(staging, 0o755)
        write_atomic(staging / manifest.onnx_file, model)
        write_manifest(staging, manifest)
        if target.exists():
            os.rename(target, old)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not target.exists():
            os.rename(old, target)
        for path in created:  # innermost first: folders this import made
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)
