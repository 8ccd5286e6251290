"""Fixtures shared by every test package: tiny model repositories and real servers on loopback.

    def test_something(server):                         # a shared server on the standard tiny models
        httpx.post(server.url + "/v1/models/gen/generate", json={"n": 2, "seed": 1})

    def test_other(start_server, models_dir):           # your own server, your own settings
        srv = start_server(models_dir, env={"GANSERVE_API_KEY": "k" * 16})

Models (see tests/support/models.py): `gen` (unconditional, 1x8x8), `cgen` (conditional, classes c0..c9),
`translate` (1x8x8 -> 1x8x8).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.models import write_model_repo
from tests.support.server import Server, running_server

# Apps built in-process (create_app in a test) would otherwise all bind the default gRPC port 8001; servers
# started with running_server get a free port of their own.
os.environ["GANSERVE_GRPC_PORT"] = "0"
# Tests of queueing, refusal and draining reason about one batch at a time, as with one model instance; the
# per-host default (one batch per core on CPU) is covered by tests/service/test_instances.py and test_layout.py.
os.environ.setdefault("GANSERVE_INSTANCES", "1")


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A fresh repository of the standard tiny models, yours to modify."""
    return write_model_repo(tmp_path / "models")


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard tiny models, shared by the whole session: do not modify."""
    return write_model_repo(tmp_path_factory.mktemp("shared") / "models")


@pytest.fixture(scope="session")
def server(shared_models_dir: Path) -> Iterator[Server]:
    """One real server (default settings) on the shared tiny models, for tests that do not change its state."""
    with running_server(shared_models_dir) as srv:
        yield srv


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """start_server(models_dir, env={...}, args=[...]) -> Server; every server is stopped after the test."""
    with ExitStack() as stack:
        yield lambda models_dir, env=None, **kw: stack.enter_context(running_server(models_dir, env, **kw))
