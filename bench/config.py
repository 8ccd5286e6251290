"""One typed configuration per benchmark run, validated before any work starts and saved in the results JSON."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# name -> GANSERVE_* settings that differ from the run's common settings. The targets compare these two.
BATCHING = "batching"
NO_BATCHING = "no-batching"
SUITES = ("all", "sweep", "formats")
DEFAULT_CONFIGS: dict[str, dict[str, str]] = {BATCHING: {}, NO_BATCHING: {"GANSERVE_MAX_BATCH_SIZE": "1"}}


@dataclass
class BenchConfig:
    models_dir: Path
    model: str
    out: Path  # results are written to out.json, out.png, out.md
    version: str = "1"
    concurrencies: list[int] = field(default_factory=lambda: [1, 16, 64, 256])
    sizes: list[int] = field(default_factory=lambda: [1, 64])  # images per request
    duration_s: float = 10.0  # per load point
    warmup_s: float = 3.0  # per configuration and request size, not measured
    direct_batches: list[int] = field(default_factory=lambda: [1, 8, 64])
    direct_s: float = 3.0  # per batch size
    settings: dict[str, str] = field(default_factory=dict)  # GANSERVE_* applied to every configuration
    configs: dict[str, dict[str, str]] = field(default_factory=lambda: dict(DEFAULT_CONFIGS))
    soak_requests: int = 100_000  # 0 skips the memory check
    soak_warmup_requests: int = 10_000
    soak_concurrency: int = 64
    wrk_threads: int = 2
    log_dir: Path = Path("bench/results/tmp/logs")  # server logs, one per configuration
    profile: tuple[str, int, int] | None = None  # (config, images, clients): run py-spy during that point
    suite: str = "all"  # "sweep" (the load sweep and memory check), "formats" (bench/formats.py) or both
    # the formats section: its model (None: the 64x64 RGB reference), (images per request, clients), answers
    format_models_dir: Path | None = None
    format_model: str | None = None
    format_points: list[tuple[int, int]] = field(default_factory=lambda: [(16, 8), (1, 64)])
    formats: list[str] = field(default_factory=lambda: ["png", "jpeg", "raw"])

    def validate(self) -> None:
        version_dir = self.models_dir / self.model / self.version
        if not (version_dir / "manifest.json").is_file():
            raise ValueError(f"no model at {version_dir}: pass --models-dir/--model, or build one with "
                             "`python -m bench.model`")  # fmt: skip
        if any(c < 1 for c in self.concurrencies) or any(n < 1 for n in self.sizes):
            raise ValueError("concurrencies and request sizes must be positive")
        if self.duration_s < 1:
            raise ValueError("--duration must be at least 1 second (wrk's resolution)")
        if self.suite not in SUITES:
            raise ValueError(f"--suite {self.suite!r}: choose one of {', '.join(SUITES)}")
        if self.profile is not None and self.profile[0] not in self.configs:
            raise ValueError(f"--profile names configuration {self.profile[0]!r}; there are {list(self.configs)}")
        for key in [*self.settings, *(k for env in self.configs.values() for k in env)]:
            if not key.startswith("GANSERVE_"):
                raise ValueError(f"setting {key!r}: only GANSERVE_* settings can be passed to the service")

    def env(self, config: str) -> dict[str, str]:
        return self.settings | self.configs[config]

    def deadline_ms(self, config: str) -> float:
        return float(self.env(config).get("GANSERVE_DEADLINE_MS", "10000"))  # the documented default

    def direct_variants(self) -> list[tuple[int, bool]]:
        """(intra-op threads, spinning): onnxruntime's defaults (0, True), plus each configuration's own."""
        variants = {(0, True)}
        for env in map(self.env, self.configs):
            threads = int(env.get("GANSERVE_INTRA_OP_THREADS") or 0)
            spinning = env.get("GANSERVE_INTRA_OP_SPINNING", "false").lower() in ("1", "true", "yes", "on")
            variants.add((threads, spinning))
        return sorted(variants)

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def setting_arg(text: str) -> tuple[str, str]:
    """`--set KEY=VALUE` -> (GANSERVE_KEY, VALUE); the prefix is optional."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE, e.g. MAX_QUEUE_DELAY_MS=1")
    key = key.upper()
    return (key if key.startswith("GANSERVE_") else f"GANSERVE_{key}"), value
