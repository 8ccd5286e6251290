"""Live model management: load, reload and unload models while the server runs (the OIP repository extension).

    repository = ModelRepository(registry, settings, metrics)
    await repository.load("faces")     # read models/faces/*, validate, warm up; then switch in one step
    await repository.unload("faces")   # stop resolving it, let accepted requests finish, release the sessions
    repository.index()                 # [{"name", "version", "state", "reason"}], as Triton answers

A load builds every version of the model off the event loop (reusing loaded versions whose manifest did not
change) and only then swaps the set in, in one step on the event loop: a request sees the old set or the new one,
never a mix, and the newest version becomes the default at that moment. If any version fails, nothing changes and
`LoadFailed` says why. Versions that were replaced or unloaded are *retired*: once their batcher has been idle for
`settle_s` (so requests that resolved the model just before the swap still get served), it stops and the
sessions are released. One lock per model serializes its loads and unloads; different models do not wait.
`poll_forever` (GANSERVE_MODEL_CONTROL=poll) reloads a model whose files changed and unloads one that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from service.errors import GanserveError, InvalidRequest, LoadFailed, ModelControlOff, UnknownModel
from service.manifest import NAME_PATTERN, ManifestError, load_manifest
from service.metrics import Metrics
from service.model_folder import fingerprints, model_names, version_names
from service.registry import Registry, ServedModel, load_version, version_order
from service.runtime import RuntimeLoadError
from service.settings import Settings

log = logging.getLogger("ganserve.repository")

Loader = Callable[[Path, Settings, Metrics], ServedModel]
Sleep = Callable[[float], Awaitable[None]]


class ModelRepository:
    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        metrics: Metrics,
        *,
        loader: Loader = load_version,
        settle_s: float = 0.25,
        tick_s: float = 0.02,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self.root = settings.models_dir
        self.loader = loader
        self.settle_s = settle_s
        self.tick_s = tick_s
        self.sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._busy: dict[str, str] = {}  # name -> LOADING / UNLOADING while a call runs
        # name -> why it is not served (failed load, unloaded), starting with what start-up skipped
        self._reasons: dict[str, str] = {s.path.parent.name: s.reason for s in registry.skipped}

    # -- what a caller may ask (the HTTP routes and the gRPC calls both ask here) --------------------------

    def check_control(self, change: bool) -> None:
        """Refuse what GANSERVE_MODEL_CONTROL does not allow: everything when `none`, loads and unloads when `poll`."""
        control = self.settings.model_control
        if control == "none":
            raise ModelControlOff(
                "model control is off: start the server with GANSERVE_MODEL_CONTROL=explicit to load "
                "and unload models through the repository calls (or =poll to follow the models folder)"
            )
        if change and control == "poll":
            raise ModelControlOff(
                "this server follows its models folder (GANSERVE_MODEL_CONTROL=poll): change the files "
                "there, or restart it with GANSERVE_MODEL_CONTROL=explicit to load and unload on request"
            )

    @staticmethod
    def check_load_parameters(name: str, parameters: list[str]) -> None:
        """Triton's config and file overrides have no meaning here: a load reads what the folder holds."""
        overrides = sorted(k for k in parameters if k != "unload_dependents")
        if overrides:
            raise InvalidRequest(
                f"load parameters {overrides} are not supported: ganserve loads what its repository "
                f"folder holds; write the version there (e.g. with `ganserve import`) and load {name!r}"
            )

    # -- the three calls ------------------------------------------------------------------------------------

    def index(self, ready_only: bool = False) -> list[dict[str, str]]:
        """Every model in the repository folder or in memory, one row per version, with its state."""
        rows = []
        for name in sorted(set(model_names(self.root)) | set(self.registry.models)):
            served = self.registry.models.get(name, {})
            for version in sorted(set(version_names(self.root, name)) | set(served), key=version_order) or [""]:
                if version in served:
                    state, reason = "READY", ""
                else:
                    state, reason = self._busy.get(name, "UNAVAILABLE"), self._reasons.get(name, "not loaded")
                if not ready_only or state == "READY":
                    rows.append({"name": name, "version": version, "state": state, "reason": reason})
        return rows

    async def load(self, name: str) -> list[str]:
        """(Re)load every version of `name` from its folder; returns the versions now served."""
        folder = self._folder(name)
        async with self._lock(name):
            current = self.registry.models.get(name, {})
            self._busy[name] = "LOADING"
            try:
                fresh, versions = await asyncio.to_thread(self._build, name, folder, current)
            except LoadFailed as e:
                self._reasons[name] = e.message
                raise
            finally:
                self._busy.pop(name, None)
            for model in fresh:
                await model.batcher.start()
            self.registry.replace(name, versions)
            self._reasons.pop(name, None)
            retired = [m for m in current.values() if versions.get(m.version) is not m]
            self._announce(fresh, retired)
            log.info(
                "loaded %s: versions %s (%d new, %d retired)",
                name,
                sorted(versions, key=version_order),
                len(fresh),
                len(retired),
            )
            await self._retire(retired)
            return sorted(versions, key=version_order)

    async def unload(self, name: str) -> None:
        """Stop serving `name`; returns once its accepted requests are answered and its sessions are released."""
        folder = self._folder(name, must_exist=False)
        async with self._lock(name):
            if name not in self.registry.models:
                if folder.is_dir():
                    return  # not loaded: nothing to do, as Triton answers
                raise UnknownModel(f"model {name!r} is neither loaded nor in the repository")
            self._busy[name] = "UNLOADING"
            try:
                removed = list(self.registry.remove(name).values())
                self._announce([], removed)
                await self._retire(removed)
            finally:
                self._busy.pop(name, None)
            self._reasons[name] = "unloaded"
            log.info("unloaded %s", name)

    # -- polling --------------------------------------------------------------------------------------------

    async def poll_forever(self) -> None:
        """Every poll_s: load the models whose files changed or appeared, unload the ones whose folder is gone."""
        seen = fingerprints(self.root)
        while True:
            await self.sleep(self.settings.poll_s)
            now = fingerprints(self.root, previous=seen)
            for name in sorted(set(seen) | set(now)):
                if seen.get(name) == now.get(name):
                    continue
                try:
                    if now.get(name):
                        await self.load(name)
                    elif name in self.registry.models:
                        await self.unload(name)
                except GanserveError as e:
                    log.error("poll: %s: %s (what was serving keeps serving)", name, e.message)
                except Exception:  # a bug or a file system surprise must not stop the polling
                    log.exception("poll: %s: unexpected error (what was serving keeps serving)", name)
            seen = now

    # -- helpers --------------------------------------------------------------------------------------------

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    def _folder(self, name: str, must_exist: bool = True) -> Path:
        if not re.fullmatch(NAME_PATTERN, name):
            raise UnknownModel(f"{name!r} is not a model name (lower-case letters, digits, '.', '_', '-')")
        folder = self.root / name
        if must_exist and not folder.is_dir():
            known = ", ".join(model_names(self.root)) or "none"
            raise UnknownModel(f"no model {name!r} in the repository {self.root}; models there: {known}")
        return folder

    def _build(
        self, name: str, folder: Path, current: dict[str, ServedModel]
    ) -> tuple[list[ServedModel], dict[str, ServedModel]]:
        """(models loaded now, every version to serve); blocking: runs in a worker thread."""
        fresh: list[ServedModel] = []
        versions: dict[str, ServedModel] = {}
        for version in version_names(self.root, name):
            version_dir = folder / version
            try:
                manifest = load_manifest(version_dir)
                same = current.get(manifest.version)
                if same is not None and same.manifest == manifest:
                    versions[manifest.version] = same  # unchanged: keep serving it, warm, without a gap
                    continue
                model = self.loader(version_dir, self.settings, self.metrics)
            except (ManifestError, RuntimeLoadError) as e:
                raise LoadFailed(f"cannot load {name}/{version} (nothing was changed): {e}") from None
            fresh.append(model)
            versions[manifest.version] = model
        if not versions:
            raise LoadFailed(f"{folder} holds no version folders (expected {folder}/<version>/manifest.json)")
        return fresh, versions

    def _announce(self, added: list[ServedModel], removed: list[ServedModel]) -> None:
        info = self.metrics.model_info
        for model in removed:
            with contextlib.suppress(KeyError):  # never announced (e.g. a start-up model in another worker)
                info.remove(model.name, model.version, model.manifest.kind.value, model.provider)
        for model in added:
            info.labels(
                model=model.name, version=model.version, kind=model.manifest.kind.value, provider=model.provider
            ).set(1)

    async def _retire(self, models: list[ServedModel]) -> None:
        await asyncio.gather(*(self._drain(m) for m in models))

    async def _drain(self, model: ServedModel) -> None:
        """Wait until the batcher has been idle for settle_s (or the drain timeout passed), then stop it."""
        quiet, waited = 0.0, 0.0
        while quiet < self.settle_s and waited < self.settings.drain_timeout_s:
            await self.sleep(self.tick_s)
            waited += self.tick_s
            quiet = quiet + self.tick_s if model.batcher.idle else 0.0
        await model.batcher.stop()
