"""The container tier (marker `containers`): real images built from the repo's Dockerfiles, run by a private Docker
engine that the session starts and stops (tests/deploy/engine.py).

It is opt-in, because it builds images for minutes: `python -m pytest -m containers tests/deploy` (.ci/run runs
it after the default suite). Without that selection its tests are skipped; with it, they are skipped with the
reason where no engine can be started (not root, docker.io or mmdebstrap missing, dockerd refusing to start).
Figures the tier measured (build time, image size, drain counts) are printed at the end of the run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import images
from tests.deploy.engine import Engine, EngineUnavailable, unavailable
from tests.deploy.figures import FIGURES, record
from tests.deploy.repo import ROOT

CPU_TAG = "ganserve:cpu"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "containers" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="container tier: opt in with `pytest -m containers tests/deploy` (.ci/run does)")
    for item in items:
        if item.get_closest_marker("containers") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("container tier figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    reason = unavailable() or images.missing_tools()
    if reason is not None:
        pytest.skip(reason)
    started = time.monotonic()
    try:
        running = Engine.start(Path(tempfile.mkdtemp(prefix="ganserve-docker-")))
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    record("dockerd start", f"{time.monotonic() - started:.1f} s")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    started = time.monotonic()
    tag = images.import_base(engine)
    record("base image (mmdebstrap or cache, docker import)", f"{time.monotonic() - started:.1f} s, {tag}")
    return tag


@pytest.fixture(scope="session")
def cpu_image(engine: Engine, base_image: str) -> str:
    """The repo's Dockerfile, unchanged, on the local base, from local wheels, with no network."""
    started = time.monotonic()
    python = images.python_of(engine, base_image)
    images.fill_wheels(images.wheelhouse("wheels-cpu", python, images.requirements(cpu=True)))
    record("wheels for the offline build", f"{time.monotonic() - started:.1f} s (python {python})")
    seconds = images.build(engine, CPU_TAG, ROOT, args={"PYTHON_IMAGE": base_image, "PIP_NO_INDEX": "1"})
    record("CPU image build (docker build, no network)", f"{seconds:.1f} s")
    return CPU_TAG
