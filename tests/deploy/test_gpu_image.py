"""Dockerfile.gpu, built for real on a machine without CUDA: the tier's bookworm base stands in for the CUDA image
(CUDA_IMAGE is a build arg), so both stages run exactly as written, with the wheels of the declared
onnxruntime-gpu and no network. What it cannot prove here is CUDA itself: the image imports onnxruntime-gpu and
lists the CUDA provider, whose kernels would load only on a host with the NVIDIA driver and a CUDA base.

    python -m pytest -m containers tests/deploy/test_gpu_image.py
"""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy import images
from tests.deploy.engine import Engine
from tests.deploy.figures import record
from tests.deploy.repo import ROOT

pytestmark = pytest.mark.containers

TAG = "ganserve:gpu-without-cuda"
PROBE = (
    "import json, onnxruntime as o, onnxruntime.capi.build_and_package_info as b, service, ganserve.cli; "
    "print(json.dumps({'version': o.__version__, 'cuda': getattr(b, 'cuda_version', ''), "
    "'providers': o.get_available_providers()}))"
)


def test_gpu_dockerfile_builds_and_holds_onnxruntime_gpu(engine: Engine, base_image: str, cpu_image: str) -> None:
    python = images.python_of(engine, base_image)
    added = images.fill_wheels(images.wheelhouse("wheels-gpu", python, images.requirements(cpu=False)))
    try:
        seconds = images.build(
            engine, TAG, ROOT, dockerfile="Dockerfile.gpu", args={"CUDA_IMAGE": base_image, "PIP_NO_INDEX": "1"}
        )
    finally:
        for wheel in added:  # the GPU wheel is large: keep it out of later build contexts
            wheel.unlink()
    found = json.loads(engine.docker("run", "--rm", "--network", "none", TAG, "python", "-c", PROBE).stdout)
    size = int(engine.docker("image", "inspect", "--format", "{{.Size}}", TAG).stdout) / 1e6
    record("GPU Dockerfile on a base without CUDA", f"built in {seconds:.0f} s, {size:.0f} MB, {found}")
    assert "CUDAExecutionProvider" in found["providers"]
    default = re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:(\d+)\.", (ROOT / "Dockerfile.gpu").read_text(), re.MULTILINE)
    assert default and found["cuda"].split(".")[0] == default[1], f"the wheel wants CUDA {found['cuda']}"
    user = engine.docker("run", "--rm", "--network", "none", TAG, "python", "-c", "import os; print(os.getuid())")
    assert user.stdout.strip() == "10001"
