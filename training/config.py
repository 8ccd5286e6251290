"""One typed, validated config per training run (a flat block of settings, nanoGPT style).

A config is built in layers, later ones winning: the dataclass defaults, the family's defaults, a preset,
a JSON/YAML config file, then explicit command-line flags. It is validated before any work starts and saved as
``config.json`` in the run folder (``runs/NNNN-<name>/``) before training begins.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from training.data.tasks import TASKS


class ConfigError(ValueError):
    """The run's settings are inconsistent; the message says what to change."""


@dataclass
class TrainConfig:
    family: str = "dcgan"  # a key of training.families.FAMILIES
    name: str = ""  # run and model name; defaults to the family
    task: str = ""  # translation families: a key of training.data.tasks.TASKS
    # optimisation
    steps: int = 2000  # generator updates
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # networks
    latent_dim: int = 64
    width: int = 32  # base channel count (conv) or hidden size / 8 (MLP)
    # the adversarial game
    loss: str = ""  # "" = the family's default; else a key of training.losses.ADVERSARIAL_LOSSES
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - label_smoothing
    spectral_norm: bool = False  # on every discriminator layer
    mbstd: bool = False  # minibatch standard deviation feature in D
    ema_decay: float = 0.0  # EMA of G's weights, exported when > 0
    n_critic: int = 1  # discriminator steps per generator step
    clip_value: float = 0.01  # WGAN weight clipping
    gp_weight: float = 10.0  # WGAN-GP lambda
    l1_weight: float = 100.0  # pix2pix
    cycle_weight: float = 10.0  # CycleGAN
    identity_weight: float = 0.5  # CycleGAN, relative to cycle_weight
    pool_size: int = 50  # CycleGAN image pool
    clusters: int = 20  # self-conditioned GAN: k-means clusters that stand in for class labels
    # bookkeeping
    seed: int = 0
    device: str = "auto"  # auto (CUDA if available, else CPU) | cpu | cuda
    amp: bool = True  # bf16 autocast, on CUDA only
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    max_minutes: float = 0.0  # stop early (and say so) after this much wall time; 0 = never
    runs_dir: str = "runs"
    export_dir: str = ""  # when set, export to <export_dir>/<model name>/<export_version>/ at the end
    export_version: str = "1"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        from training.families import FAMILIES, get_family  # late: the registry imports torch
        from training.losses import ADVERSARIAL_LOSSES

        family = get_family(self.family)  # raises with the valid list
        if not self.name:
            self.name = self.family
        if family.TASK_KIND is not None:
            if self.task not in TASKS:
                raise ConfigError(f"family {self.family!r} needs --task, one of: {', '.join(sorted(TASKS))}")
            if TASKS[self.task].paired != (family.TASK_KIND == "paired"):
                want = "paired" if family.TASK_KIND == "paired" else "unpaired"
                ok = [t for t, v in TASKS.items() if v.paired == (want == "paired")]
                raise ConfigError(f"family {self.family!r} needs a {want} task: {', '.join(ok)}")
        elif self.task:
            raise ConfigError(f"family {self.family!r} takes no task (translation families: "
                              f"{', '.join(n for n, f in FAMILIES.items() if f.TASK_KIND)})")
        if self.loss and self.loss not in family.LOSSES:
            raise ConfigError(f"family {self.family!r} supports loss {' | '.join(family.LOSSES)}, not {self.loss!r}")
        if not self.loss:
            self.loss = family.LOSSES[0]
        assert self.loss in ADVERSARIAL_LOSSES or self.loss == "wasserstein"
        positive = ("steps", "batch_size", "lr_g", "lr_d", "latent_dim", "width", "n_critic", "log_every",
                    "sample_every", "checkpoint_every")
        for f in positive:
            if getattr(self, f) <= 0:
                raise ConfigError(f"{f} must be positive, got {getattr(self, f)}")
        if self.batch_size < 2:
            raise ConfigError("batch_size must be at least 2 (batch norm and minibatch stddev need a batch)")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if not (self.ema_decay == 0.0 or 0.0 < self.ema_decay < 1.0):
            raise ConfigError(f"ema_decay must be 0 (off) or in (0, 1), got {self.ema_decay}")
        for f in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, f) < 1.0:
                raise ConfigError(f"{f} must be in [0, 1), got {getattr(self, f)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto | cpu | cuda, got {self.device!r}")
        if self.clusters < 2:
            raise ConfigError(f"clusters must be at least 2, got {self.clusters}")
        if self.threads < 0 or self.max_minutes < 0 or self.pool_size < 0:
            raise ConfigError("threads, max_minutes and pool_size must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_config(*layers: dict[str, Any]) -> TrainConfig:
    """Merge layers of settings (later wins) over the family's defaults, then validate."""
    from training.families import get_family

    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    family = get_family(merged.get("family", TrainConfig.family))
    return TrainConfig(**{**family.DEFAULTS, **merged})


def load_config_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML mapping of settings."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
