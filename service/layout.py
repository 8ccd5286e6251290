"""How a server shares the host's cores: model instances x onnxruntime intra-op threads, and encoder threads.

    layout = engine_layout(instances=0, intra_op_threads=0, cores=2, gpu=False)   # 2 instances x 1 thread each
    encoders = default_workers(cores=2, inference_threads=layout.threads, gpu=False)   # 1 (at least one)

On a CPU host the default (GANSERVE_INSTANCES=0 and GANSERVE_INTRA_OP_THREADS=0) runs one batch per core, up to
MAX_AUTO_INSTANCES, each on its own share of the cores, rather than one batch on every core: every onnxruntime
operator waits for its slowest thread, so a batch spread over all cores stalls whenever the event loop or an
encoder takes one of them. Measured on 2 cores (docs/performance.md): 64x64 RGB, 8 clients x 16 images, +45-55%
images/s and ~25% less inference CPU per image. On a GPU one instance feeds the device, as before.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.settings import Settings

MAX_AUTO_INSTANCES = 4  # beyond this the default gives each instance more threads instead (16 cores: 4 x 4)
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"


@dataclass(frozen=True)
class EngineLayout:
    instances: int  # batches of a model that run at once, each in its own thread
    intra_op_threads: int  # onnxruntime's threads per run; 0 lets onnxruntime choose (one per core)

    @property
    def threads(self) -> int:
        """Cores the engine keeps busy when every instance runs (0: every core, onnxruntime's default)."""
        return self.instances * self.intra_op_threads


def engine_layout(instances: int, intra_op_threads: int, cores: int, gpu: bool) -> EngineLayout:
    """The settings (0 = choose) resolved for this host. What a user sets is kept; the other fills the cores."""
    if gpu:
        return EngineLayout(instances or 1, intra_op_threads)
    if not instances:
        instances = min(MAX_AUTO_INSTANCES, max(1, cores // (intra_op_threads or 1)))
    return EngineLayout(instances, intra_op_threads or max(1, cores // instances))


def configured_layout(settings: Settings, gpu: bool) -> EngineLayout:
    """GANSERVE_INSTANCES x GANSERVE_INTRA_OP_THREADS resolved for this host: the one place both are read."""
    return engine_layout(settings.instances, settings.intra_op_threads, host_cores(), gpu)


def default_workers(cores: int, inference_threads: int, gpu: bool) -> int:
    """Encoder threads: what the host's cores allow beside onnxruntime's threads, at least 1.

    On the CPU provider onnxruntime takes `inference_threads` cores (0: all of them); on a GPU it mostly waits
    for the device, so every core but the inference thread's can encode.
    """
    if gpu:
        return max(1, cores - 1)
    return max(1, cores - (inference_threads or cores))


def host_cores(cpu_max: Path = CPU_MAX) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a container's CPU limit,
    which affinity does not show: a 2-CPU pod on a 64-core node sees 64 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to read: the affinity stands
    return cores
