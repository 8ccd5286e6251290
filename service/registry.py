"""The model registry: scans ``models/<name>/<version>/``, validates, loads and warms every model at start-up.

A version whose manifest is invalid, whose ONNX file is missing, corrupt or has the wrong sha256, or whose graph
does not match its manifest is logged with the reason and skipped; the rest are served. Clients name models only
through `get()`, never through paths.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from service.batcher import Batcher
from service.context import note_model
from service.errors import UnknownModel
from service.layout import configured_layout
from service.logs import log_event
from service.manifest import Manifest, ManifestError, load_manifest, sha256_file
from service.metrics import Metrics, ModelMetrics
from service.pipeline import EncodePool
from service.retry_after import RetryAfter
from service.runtime import Runtime, RuntimeLoadError, cuda_usable, warm_up_sizes
from service.settings import Settings

log = logging.getLogger("ganserve.registry")


@dataclass(eq=False)
class ServedModel:
    """One loaded model version: its manifest, engine and batcher."""

    manifest: Manifest
    runtime: Runtime
    batcher: Batcher
    metrics: ModelMetrics

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def provider(self) -> str:
        return self.runtime.provider


@dataclass
class Skipped:
    path: Path
    reason: str


def version_order(version: str) -> tuple[int, int | str]:
    """Numeric versions sort numerically and after non-numeric ones; "latest" is the max."""
    return (1, int(version)) if re.fullmatch(r"\d+", version) else (0, version)


@dataclass
class Registry:
    models: dict[str, dict[str, ServedModel]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    _latest: dict[str, ServedModel] = field(default_factory=dict)  # resolved once, not per request

    def add(self, model: ServedModel) -> None:
        self.models.setdefault(model.name, {})[model.version] = model
        versions = self.models[model.name]
        self._latest[model.name] = versions[max(versions, key=version_order)]

    def replace(self, name: str, versions: dict[str, ServedModel]) -> None:
        """Serve exactly `versions` of `name` from now on: one step on the event loop, so no request sees a mix."""
        self.models[name] = dict(versions)
        self._latest[name] = versions[max(versions, key=version_order)]

    def remove(self, name: str) -> dict[str, ServedModel]:
        """Stop resolving `name`; returns what was served (for the caller to drain and stop)."""
        self._latest.pop(name, None)
        return self.models.pop(name, {})

    def get(self, name: str, version: str | None = None) -> ServedModel:
        versions = self.models.get(name)
        if versions is None:
            known = ", ".join(sorted(self.models)) or "none"
            raise UnknownModel(f"unknown model {name!r}; served models: {known}")
        if version is not None and version not in versions:
            raise UnknownModel(f"model {name!r} has no version {version!r}; versions: {', '.join(self.versions(name))}")
        model = self._latest[name] if version is None else versions[version]
        note_model(model.name, model.version)  # for the current request's access line and trace
        return model

    def versions(self, name: str) -> list[str]:
        return sorted(self.models.get(name, {}), key=version_order)

    def latest(self) -> list[ServedModel]:
        return [self.get(name) for name in sorted(self.models)]

    def all(self) -> list[ServedModel]:
        return [m for name in sorted(self.models) for m in self.models[name].values()]

    async def start(self) -> None:
        for model in self.all():
            await model.batcher.start()

    async def stop(self) -> None:
        for model in self.all():
            await model.batcher.stop()


def load_version(
    version_dir: Path, settings: Settings, metrics: Metrics, encoders: EncodePool | None = None
) -> ServedModel:
    """Validate and load one version folder; raises ManifestError or RuntimeLoadError with the reason."""
    manifest = load_manifest(version_dir)
    onnx_path = version_dir / manifest.onnx_file
    if not onnx_path.is_file():
        raise ManifestError(f"{onnx_path}: missing")
    digest = sha256_file(onnx_path)
    if digest != manifest.sha256:
        raise ManifestError(f"{onnx_path}: sha256 is {digest}, the manifest says {manifest.sha256} (corrupt or stale)")
    layout = configured_layout(settings, cuda_usable(settings.provider))
    runtime = Runtime.load(
        onnx_path,
        manifest,
        provider=settings.provider,
        intra_op_threads=layout.intra_op_threads,
        inter_op_threads=settings.inter_op_threads,
        spinning=settings.intra_op_spinning,
    )
    max_batch_size = 1 if manifest.fixed_batch else settings.max_batch_size  # a fixed-batch graph: one row a run
    runtime.warm_up(warm_up_sizes(max_batch_size))
    model_metrics = metrics.for_model(manifest.name)
    batcher = Batcher(
        runtime.run,
        max_batch_size=max_batch_size,
        max_queue_delay_s=settings.max_queue_delay_ms / 1000,
        capacity=settings.queue_capacity,
        metrics=model_metrics,
        name=f"{manifest.name}:{manifest.version}",
        encoders=encoders,
        retry_after=RetryAfter(low_s=settings.retry_after_min_s, high_s=settings.retry_after_max_s),
        instances=layout.instances,
    )
    return ServedModel(manifest, runtime, batcher, model_metrics)


def load_registry(settings: Settings, metrics: Metrics, encoders: EncodePool | None = None) -> Registry:
    """Load every model version under settings.models_dir (blocking: call before serving)."""
    registry = Registry()
    root = settings.models_dir
    if not root.is_dir():
        log_event(log, logging.ERROR, "models directory missing: serving no models", path=str(root))
        return registry
    for version_dir in sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        try:
            model = load_version(version_dir, settings, metrics, encoders)
        except (ManifestError, RuntimeLoadError) as e:
            log_event(log, logging.ERROR, "model skipped", path=str(version_dir), reason=str(e))
            registry.skipped.append(Skipped(version_dir, str(e)))
            continue
        registry.add(model)
        metrics.model_info.labels(
            model=model.name, version=model.version, kind=model.manifest.kind.value, provider=model.provider
        ).set(1)
        log_event(
            log,
            logging.INFO,
            "model loaded",
            model=model.name,
            version=model.version,
            kind=model.manifest.kind.value,
            provider=model.provider,
        )
    return registry
