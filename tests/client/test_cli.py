"""The `ganserve` client commands against a real server."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from ganserve import cli
from ganserve.client import Client
from ganserve.commands import options
from tests.client.conftest import API_KEY
from tests.service.test_api import samples
from tests.service.test_lifecycle import wait_for
from tests.support.models import write_generator
from tests.support.server import REPO, Server, running_server

CLIENT_COMMANDS = ["models", "generate", "interpolate", "translate"]


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("GANSERVE_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "ganserve.cli", *argv],
        cwd=REPO,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_command_has_help() -> None:
    top = run_cli("--help")
    assert top.returncode == 0
    for name in [*CLIENT_COMMANDS, "serve", "train", "export"]:
        assert name in top.stdout
    for name in CLIENT_COMMANDS:
        with pytest.raises(SystemExit) as done:
            cli.main([name, "--help"])
        assert done.value.code == 0


def test_train_and_export_forward_to_the_training_cli() -> None:
    for name in ("train", "export"):
        done = run_cli(name, "--help")
        assert done.returncode == 0, done.stderr
        assert f"python -m training {name}" in done.stdout


def test_generate_writes_a_grid_and_each_image(server_url: str, tmp_path: Path, capsys) -> None:
    grid, each = tmp_path / "grid.png", tmp_path / "each"
    code = cli.main(
        [
            "generate",
            "--model",
            "cgen",
            "--n",
            "16",
            "--seed",
            "7",
            "--labels",
            "c2",
            "--out",
            str(grid),
            "--each",
            str(each),
            "--url",
            server_url,
        ]
    )
    assert code == 0
    assert f"wrote {grid}: 16 images from cgen v1, seeds 7..22" in capsys.readouterr().out
    with Image.open(grid) as im:
        assert im.size == (4 * 8 + 5 * 2, 4 * 8 + 5 * 2)  # 4x4 cells of 8x8 with 2-pixel gaps
        assert im.text["seeds"] == ",".join(str(s) for s in range(7, 23)) and im.text["labels"] == ",".join(["2"] * 16)
    assert sorted(p.name for p in each.iterdir()) == sorted(f"{s}.png" for s in range(7, 23))
    with Image.open(each / "9.png") as im:
        assert im.text == {"model": "cgen", "version": "1", "seed": "9", "label": "c2", "truncation": "1.0"}


def test_generate_each_in_jpeg_keeps_the_servers_bytes(server_url: str, tmp_path: Path) -> None:
    each = tmp_path / "each"
    args = ["generate", "--model", "gen", "--n", "2", "--seed", "5", "--format", "jpeg", "--quality", "80"]
    assert cli.main([*args, "--out", str(tmp_path / "g.png"), "--each", str(each), "--url", server_url]) == 0
    assert sorted(p.name for p in each.iterdir()) == ["5.jpeg", "6.jpeg"]
    with Image.open(each / "6.jpeg") as im:
        assert im.format == "JPEG" and json.loads(im.getexif()[0x010E])["seed"] == "6"


def test_generate_finds_the_server_through_the_environment(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "one.png"
    done = run_cli(
        "generate", "--model", "gen", "--n", "1", "--seed", "3", "--out", str(out), env={"GANSERVE_URL": server_url}
    )
    assert done.returncode == 0, done.stderr
    assert out.exists() and "seeds 3..3" in done.stdout


def test_interpolate_writes_a_strip(server_url: str, tmp_path: Path, capsys) -> None:
    strip = tmp_path / "strip.png"
    code = cli.main(
        [
            "interpolate",
            "--model",
            "cgen",
            "--seeds",
            "1",
            "2",
            "--labels",
            "c0",
            "c9",
            "--steps",
            "6",
            "--method",
            "lerp",
            "--out",
            str(strip),
            "--url",
            server_url,
        ]
    )
    assert code == 0 and "6 steps from seed 1 to 2 (lerp)" in capsys.readouterr().out
    with Image.open(strip) as im:
        assert im.size == (6 * 8 + 7 * 2, 8 + 2 * 2)
        assert im.text["labels"] == "0,0,0,9,9,9"


def test_translate_writes_the_translation(server_url: str, tmp_path: Path, capsys) -> None:
    source, out, both = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "both.png"
    Image.fromarray((np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)).save(source)
    assert cli.main(["translate", str(source), "--model", "translate", "--out", str(out), "--url", server_url]) == 0
    assert (
        cli.main(
            [
                "translate",
                str(source),
                "--model",
                "translate",
                "--out",
                str(both),
                "--side-by-side",
                "--url",
                server_url,
            ]
        )
        == 0
    )
    assert "translated by translate v1" in capsys.readouterr().out
    with Image.open(out) as im, Image.open(both) as pair:
        assert im.size == (8, 8) and im.text == {"model": "translate", "version": "1"}
        assert pair.size == (2 * 8 + 3 * 2, 8 + 2 * 2)


def test_models_lists_kinds_and_classes(server_url: str, capsys) -> None:
    assert cli.main(["models", "--url", server_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "KIND", "IMAGE", "CLASSES", "PROVIDER"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["cgen"][2:5] == ["conditional", "1x8x8", ",".join(f"c{i}" for i in range(10))]
    assert rows["translate"][2] == "translation"


def test_errors_are_one_readable_line(server_url: str, tmp_path: Path) -> None:
    done = run_cli(
        "generate", "--model", "cgen", "--labels", "42", "--out", str(tmp_path / "x.png"), "--url", server_url
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: 422: class index 42 out of range") and "Traceback" not in done.stderr
    done = run_cli("models", "--url", "http://127.0.0.1:9", "--retries", "1")
    assert done.returncode == 1 and "cannot reach the server" in done.stderr
    done = run_cli("translate", str(tmp_path / "missing.png"), "--model", "translate", "--url", server_url)
    assert done.returncode == 1 and "no such file" in done.stderr


def test_api_key_option_and_environment(keyed_server_url: str, capsys) -> None:
    assert cli.main(["models", "--url", keyed_server_url]) == 1
    assert "401" in capsys.readouterr().err
    assert cli.main(["models", "--url", keyed_server_url, "--api-key", API_KEY]) == 0
    done = run_cli("models", env={"GANSERVE_URL": keyed_server_url, "GANSERVE_API_KEY": API_KEY})
    assert done.returncode == 0 and "cgen" in done.stdout


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A deliberately slow model (one image per batch, ~0.1-0.5 s each) behind a queue of 8 items."""
    models = tmp_path_factory.mktemp("slow-cli") / "models"
    write_generator(models, "slow", slow=512)
    env = {"GANSERVE_MAX_BATCH_SIZE": "1", "GANSERVE_QUEUE_CAPACITY": "8", "GANSERVE_MAX_IMAGES_PER_REQUEST": "8"}
    with running_server(models, env) as server:
        yield server


def queued(server: Server) -> float:
    return samples(httpx.get(server.url + "/metrics").text, "ganserve_queue_items", model="slow")


def test_generate_is_refused_while_the_queue_is_full_and_retries(
    slow_server: Server, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An 8-image request cannot fit while another one waits; the CLI says so, waits Retry-After, then gets through.

    No timing luck: a blocking client holds the queue (7 of its 8 images wait behind a slow model) until the CLI,
    refused, starts its retry wait; that wait hangs the blocker up, which empties the queue, and returns once the
    server's gauge says the queue is empty.
    """
    host, port = slow_server.url.removeprefix("http://").split(":")
    body = b'{"n": 8}'
    blocker = socket.create_connection((host, int(port)))
    blocker.sendall(
        b"POST /v1/models/slow/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    waits: list[float] = []

    def free_the_queue(seconds: float) -> None:
        waits.append(seconds)
        blocker.close()  # the server drops the queued images of a client that went away
        wait_for(lambda: queued(slow_server) == 0)

    try:
        wait_for(lambda: queued(slow_server) >= 6)  # >= 5 slow images stand between the CLI and an empty queue
        monkeypatch.setattr(options, "Client", functools.partial(Client, sleep=free_the_queue))
        out = tmp_path / "grid.png"
        code = cli.main(
            [
                "generate",
                "--model",
                "slow",
                "--n",
                "8",
                "--seed",
                "1",
                "--out",
                str(out),
                "--retries",
                "5",
                "--url",
                slow_server.url,
            ]
        )
    finally:
        blocker.close()
    err = capsys.readouterr().err
    assert len(waits) == 1 and waits[0] >= 1.0  # the server's Retry-After (adaptive: it grows with the queue)
    assert "attempt 1/5 refused (503: " in err and f"retrying in {waits[0]:.1f}s" in err
    assert code == 0 and out.exists()
