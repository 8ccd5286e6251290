"""Build and check one run's config: merge the layers of settings over the family's defaults, validate.

    from training.configure import build_config
    cfg = build_config(preset, file_settings, flags)      # later layers win; raises ConfigError

The family-independent checks live on `TrainConfig` itself; the ones that need the family live here, so
``training.config`` imports no family and the families import the config, never the other way round.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from training.config import ConfigError, TrainConfig
from training.data.tasks import TASKS
from training.families import FAMILIES, UnknownFamily, get_family
from training.families.family import Family


def build_config(*layers: dict[str, Any]) -> TrainConfig:
    """Merge layers of settings (later wins, None skipped) over the family's defaults, then validate."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    try:
        family = get_family(merged.get("family", TrainConfig.family))
    except UnknownFamily as e:
        raise ConfigError(str(e)) from e
    cfg = TrainConfig(**{**family.defaults, **merged})
    check_family(cfg, family)
    return cfg


def check_family(cfg: TrainConfig, family: Family) -> None:
    """The settings that depend on the family: its task or data, its losses; fills in the default loss."""
    if family.translates and not cfg.data:
        paired = family.needs == "pairs"
        if cfg.task not in TASKS:
            raise ConfigError(
                f"family {family.name!r} needs --data (a pairs folder, trainA/trainB, or a built-in set) "
                f"or --task on the embedded digits, one of: {', '.join(sorted(TASKS))}"
            )
        if TASKS[cfg.task].paired != paired:
            want = "paired" if paired else "unpaired"
            ok = [t for t, v in TASKS.items() if v.paired == paired]
            raise ConfigError(f"family {family.name!r} needs a {want} task: {', '.join(ok)}")
    elif cfg.task and not family.translates:
        translators = ", ".join(n for n, f in FAMILIES.items() if f.translates)
        raise ConfigError(f"family {family.name!r} takes no task (translation families: {translators})")
    if cfg.generator and not family.translates:
        raise ConfigError(f"--generator applies to the translation families, not {family.name!r}")
    if cfg.loss and cfg.loss not in family.losses:
        raise ConfigError(f"family {family.name!r} supports loss {' | '.join(family.losses)}, not {cfg.loss!r}")
    if not cfg.loss:
        cfg.loss = family.losses[0]
