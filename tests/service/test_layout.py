"""How the host's cores are shared between model instances, onnxruntime's threads and the encoders."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.layout import EngineLayout, default_workers, engine_layout, host_cores


@pytest.mark.parametrize(
    ("instances", "intra", "cores", "gpu", "layout"),
    [
        (0, 0, 2, False, EngineLayout(2, 1)),  # CPU default: one batch per core
        (0, 0, 1, False, EngineLayout(1, 1)),
        (0, 0, 16, False, EngineLayout(4, 4)),  # at most 4 instances; the rest become threads
        (0, 2, 8, False, EngineLayout(4, 2)),  # threads set: as many instances as fill the cores
        (0, 2, 64, False, EngineLayout(4, 2)),  # ... at most 4
        (1, 0, 2, False, EngineLayout(1, 2)),  # one instance: every core, as before instances existed
        (3, 0, 2, False, EngineLayout(3, 1)),
        (2, 3, 2, False, EngineLayout(2, 3)),  # both set: kept as asked
        (0, 0, 16, True, EngineLayout(1, 0)),  # a GPU: one instance feeds it; onnxruntime picks its threads
        (2, 0, 16, True, EngineLayout(2, 0)),
    ],
)
def test_layout_fills_the_cores_and_keeps_what_was_set(
    instances: int, intra: int, cores: int, gpu: bool, layout: EngineLayout
) -> None:
    assert engine_layout(instances, intra, cores, gpu) == layout


@pytest.mark.parametrize(
    ("cores", "inference", "gpu", "workers"),
    [
        (2, 0, False, 1),
        (2, 2, False, 1),  # the CPU default layout takes both cores: one encoder anyway
        (16, 0, False, 1),
        (16, 8, False, 8),
        (16, 0, True, 15),
        (1, 0, True, 1),
    ],
)
def test_default_encoder_threads_leave_onnxruntime_its_cores(
    cores: int, inference: int, gpu: bool, workers: int
) -> None:
    assert default_workers(cores, inference, gpu) == workers


def test_host_cores_follow_a_containers_cpu_quota(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    unlimited = host_cores(tmp_path / "absent")
    cpu_max.write_text("max 100000\n")
    assert host_cores(cpu_max) == unlimited
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: round up, the engine can use the fraction
    assert host_cores(cpu_max) == min(unlimited, 2)
    cpu_max.write_text("50000 100000\n")
    assert host_cores(cpu_max) == 1
