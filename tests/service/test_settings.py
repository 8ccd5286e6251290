"""Settings come from GANSERVE_* variables and refuse unsafe or inconsistent values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_environment_and_bucket_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANSERVE_MAX_BATCH_SIZE", "16")
    monkeypatch.setenv("GANSERVE_LATENCY_BUCKETS", "0.001,0.01,0.1")
    monkeypatch.setenv("GANSERVE_BATCH_BUCKETS", "[1, 8, 16]")
    monkeypatch.setenv("GANSERVE_OVERLOAD_STATUS", "429")
    settings = Settings()
    assert settings.max_batch_size == 16 and settings.overload_status == 429
    assert settings.latency_buckets == (0.001, 0.01, 0.1) and settings.batch_buckets == (1, 8, 16)


@pytest.mark.parametrize(
    "env",
    [
        {"GANSERVE_MAX_BATCH_SIZE": "0"},
        {"GANSERVE_OVERLOAD_STATUS": "500"},
        {"GANSERVE_LATENCY_BUCKETS": "0.1,0.01"},
        {"GANSERVE_API_KEY": "short"},
        {"GANSERVE_QUEUE_CAPACITY": "10"},  # smaller than the largest request (256 images)
        {"GANSERVE_PROVIDER": "tpu"},
        {"GANSERVE_RETRY_AFTER_MIN_S": "40"},  # above the default maximum (30)
        {"GANSERVE_RETRY_AFTER_MIN_S": "0"},
        {"GANSERVE_LIMIT_CONCURRENCY": "-1"},
        {"GANSERVE_BACKLOG": "0"},
    ],
)
def test_unsafe_values_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()
