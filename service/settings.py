"""Service settings: environment variables prefixed ``GANSERVE_`` (e.g. ``GANSERVE_MAX_BATCH_SIZE=32``).

Validated once at start-up; unsafe or inconsistent values are refused with a message that says how to fix them.
Bucket lists accept JSON (``[0.001, 0.01]``) or commas (``0.001,0.01``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
DEFAULT_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 256)

Buckets = Annotated[tuple[float, ...], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GANSERVE_", extra="ignore", frozen=True)

    models_dir: Path = Path("models")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    grpc_port: int = Field(default=8001, ge=0, le=65535, description="the gRPC (Open Inference Protocol) port; 0: off")
    grpc_max_receive_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    grpc_max_send_bytes: int = Field(default=256 * 1024 * 1024, ge=1024, le=2047 * 1024 * 1024)

    max_batch_size: int = Field(default=64, ge=1, le=4096, description="items (images) per batch; 1 turns batching off")
    max_queue_delay_ms: float = Field(default=2.0, ge=0, le=1000)
    queue_capacity: int = Field(default=1024, ge=1, le=1_000_000, description="items waiting per model")
    deadline_ms: int = Field(default=10_000, ge=1, le=600_000)
    overload_status: int = Field(default=503, description="503 or 429 when the queue is full")
    early_refusal: bool = Field(
        default=True,
        description="refuse requests for a full queue before routing and body "
        "parsing (service/shedding.py); false leaves every refusal to the routes",
    )
    retry_after_min_s: int = Field(default=1, ge=1, le=3600, description="lower bound of the adaptive Retry-After")
    retry_after_max_s: int = Field(default=30, ge=1, le=3600, description="upper bound of the adaptive Retry-After")
    refusal_hold_max_s: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="hold a connection that comes back "
        "before its Retry-After for up to this long before deciding (0: never)",
    )
    # Connection-level protection in uvicorn (see docs/deployment.md, "Sizing the limits"): past limit_concurrency
    # open connections (or requests in progress) uvicorn answers 503 itself; backlog is the listen() queue.
    limit_concurrency: int = Field(default=1024, ge=0, le=1_000_000, description="0 turns the limit off")
    backlog: int = Field(default=2048, ge=1, le=65535, description="pending TCP connections (capped by somaxconn)")
    max_images_per_request: int = Field(default=256, ge=1, le=4096)

    provider: Literal["auto", "cpu", "cuda"] = "auto"
    # batches of one model that run at once, each in its own thread on the one session (Triton's instance count),
    # and onnxruntime's threads per run; 0 = choose for this host (service/layout.py: on CPU, one batch per core)
    intra_op_threads: int = Field(default=0, ge=0, le=256, description="threads per run; 0: cores / instances")
    instances: int = Field(default=0, ge=0, le=64, description="batches of a model run at once; 0: per host")
    inter_op_threads: int = Field(default=0, ge=0, le=256)
    intra_op_spinning: bool = Field(default=False, description="let idle onnxruntime threads spin (costs CPU)")
    # How long a Python thread may hold the GIL while another waits for it (sys.setswitchinterval). The inference
    # thread needs the GIL back after every engine run; at CPython's 5 ms it can wait that long behind an encoder
    # or the event loop, a large share of a 20 ms batch (docs/performance.md has the measurement).
    gil_switch_interval_ms: float = Field(default=5.0, gt=0, le=100, description="sys.setswitchinterval, in ms")

    api_key: SecretStr | None = None
    # Live model management (the OIP repository extension, /v2/repository/...): none = the models found at start-up
    # are served until exit; explicit = load/unload on request; poll = rescan models_dir every poll_s seconds.
    model_control: Literal["none", "explicit", "poll"] = "none"
    poll_s: float = Field(default=5.0, ge=0.05, le=3600)
    admin_key: SecretStr | None = Field(default=None, description="needed by /v2/repository calls when set")
    protect_metrics: bool = False
    drain_timeout_s: float = Field(default=20.0, ge=0, le=3600)

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    max_upload_pixels: int = Field(default=16_000_000, ge=64, le=200_000_000)

    encode_workers: int = Field(
        default=0, ge=0, le=256, description="encoder threads; 0: what the cores allow beside onnxruntime's, >= 1"
    )
    encode_queue_items: int = Field(
        default=256, ge=1, le=1_000_000, description="images handed to the encoders and not yet encoded (back-pressure)"
    )
    png_level: int = Field(default=1, ge=0, le=9, description="PNG deflate level: 1-3 ISA-L igzip, 0 and 4-9 zlib")
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    webp_quality: int = Field(default=90, ge=1, le=100)
    max_answer_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        le=4 * 1024**3,
        description="pixel bytes of a grid or raw-tensor answer (413 above)",
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    access_log: bool = Field(default=True, description="one line per request on the ganserve.access logger")
    tracing: bool = Field(default=False, description="OpenTelemetry spans, exported as the OTEL_* variables say")

    latency_buckets: Buckets = DEFAULT_LATENCY_BUCKETS
    batch_buckets: Buckets = DEFAULT_BATCH_BUCKETS

    @field_validator("latency_buckets", "batch_buckets", mode="before")
    @classmethod
    def _parse_buckets(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return tuple(float(v) for v in text.split(",") if v.strip())
        return value

    @field_validator("latency_buckets", "batch_buckets")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(b <= 0 for b in value) or list(value) != sorted(set(value)):
            raise ValueError("buckets must be a non-empty, strictly increasing list of positive numbers")
        return value

    @field_validator("overload_status")
    @classmethod
    def _overload(cls, value: int) -> int:
        if value not in (503, 429):
            raise ValueError("GANSERVE_OVERLOAD_STATUS must be 503 or 429")
        return value

    @field_validator("api_key", "admin_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value() == "":
            return None
        if value is not None and len(value.get_secret_value()) < 8:
            raise ValueError(
                f"GANSERVE_{(info.field_name or '').upper()} must be at least 8 characters (or unset to turn auth off)"
            )
        return value

    @field_validator("tracing")
    @classmethod
    def _otel_installed(cls, value: bool) -> bool:
        if value and not _installed("opentelemetry.sdk"):
            raise ValueError("GANSERVE_TRACING=true needs OpenTelemetry: pip install 'ganserve[otel]'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.retry_after_min_s > self.retry_after_max_s:
            raise ValueError(
                f"GANSERVE_RETRY_AFTER_MIN_S ({self.retry_after_min_s}) must be <= "
                f"GANSERVE_RETRY_AFTER_MAX_S ({self.retry_after_max_s})"
            )
        if self.queue_capacity < self.max_images_per_request:
            raise ValueError(
                f"GANSERVE_QUEUE_CAPACITY ({self.queue_capacity}) must be >= GANSERVE_MAX_IMAGES_PER_REQUEST "
                f"({self.max_images_per_request}), or the largest request could never be queued"
            )
        return self


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False
