"""Servers for the client tests: the shared tiny-model server, plus one with an API key and one that overloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.models import write_generator
from tests.support.server import Server, running_server

API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def server_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def keyed_server_url(shared_models_dir: Path) -> Iterator[str]:
    with running_server(shared_models_dir, {"GANSERVE_API_KEY": API_KEY}) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def tight_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DCGAN-sized model behind a queue of 8 items: a burst of requests overflows it. Room for 4 rows in the encode
    stage: the batcher takes the next batch only once the previous one is mostly encoded, so the queue stays full."""
    models = tmp_path_factory.mktemp("tight") / "models"
    write_generator(models, "dcgan", dcgan=True)
    env = {
        "GANSERVE_QUEUE_CAPACITY": "8",
        "GANSERVE_MAX_IMAGES_PER_REQUEST": "8",
        "GANSERVE_MAX_BATCH_SIZE": "4",
        "GANSERVE_ENCODE_QUEUE_ITEMS": "4",
    }
    with running_server(models, env) as srv:
        yield srv.url
