"""`ganserve models index|load|unload` and the clients' repository methods, against a real server with an admin key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ganserve import cli
from ganserve.client import AsyncClient, Client
from ganserve.errors import AuthenticationError, NotFoundError
from tests.support.models import write_generator
from tests.support.server import Server

ADMIN = "admin-key-4567"


def test_cli_and_clients_load_and_unload(
    start_server: Callable[..., Server], models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(models_dir, env={"GANSERVE_MODEL_CONTROL": "explicit", "GANSERVE_ADMIN_KEY": ADMIN})
    url = ["--url", server.url, "--admin-key", ADMIN]
    write_generator(models_dir, "gen", version="2", seed=1)
    assert cli.main(["models", "load", "gen", *url]) == 0
    assert "loaded gen: versions 1, 2" in capsys.readouterr().out
    assert cli.main(["models", "unload", "cgen", *url]) == 0
    assert cli.main(["models", "index", *url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["cgen", "1", "UNAVAILABLE", "unloaded"] for line in table)
    assert cli.main(["models", "load", "gen", "--url", server.url]) == 1  # no admin key
    assert "admin key" in capsys.readouterr().err

    with Client(server.url, admin_key=ADMIN) as client:
        assert client.load_model("cgen") == ["1"]
        assert {r["name"] for r in client.repository_index() if r["state"] == "READY"} == {"gen", "cgen", "translate"}
        with pytest.raises(NotFoundError, match="model 'nope' is neither loaded nor in the repository"):
            client.unload_model("nope")
    with Client(server.url) as client, pytest.raises(AuthenticationError):
        client.unload_model("gen")


async def test_async_client(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_MODEL_CONTROL": "explicit"})
    async with AsyncClient(server.url) as client:
        await client.unload_model("gen")
        assert not any(r["name"] == "gen" and r["state"] == "READY" for r in await client.repository_index())
        assert await client.load_model("gen") == ["1"]
