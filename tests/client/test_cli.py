"""The `ganserve` client commands against a real server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganserve import cli
from ganserve.client import AsyncClient, Retry
from tests.client.conftest import API_KEY
from tests.support.server import REPO

CLIENT_COMMANDS = ["models", "generate", "interpolate", "translate"]


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("GANSERVE_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "ganserve.cli", *argv], cwd=REPO, env=child_env,
                          capture_output=True, text=True, timeout=60)


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
    code = cli.main(["generate", "--model", "cgen", "--n", "16", "--seed", "7", "--labels", "c2",
                     "--out", str(grid), "--each", str(each), "--url", server_url])
    assert code == 0
    assert f"wrote {grid}: 16 images from cgen v1, seeds 7..22" in capsys.readouterr().out
    with Image.open(grid) as im:
        assert im.size == (4 * 8 + 5 * 2, 4 * 8 + 5 * 2)  # 4x4 cells of 8x8 with 2-pixel gaps
        assert im.text["seeds"] == ",".join(str(s) for s in range(7, 23)) and im.text["labels"] == ",".join(["2"] * 16)
    assert sorted(p.name for p in each.iterdir()) == sorted(f"{s}.png" for s in range(7, 23))
    with Image.open(each / "9.png") as im:
        assert im.text == {"model": "cgen", "version": "1", "seed": "9", "label": "c2", "truncation": "1.0"}


def test_generate_finds_the_server_through_the_environment(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "one.png"
    done = run_cli("generate", "--model", "gen", "--n", "1", "--seed", "3", "--out", str(out),
                   env={"GANSERVE_URL": server_url})
    assert done.returncode == 0, done.stderr
    assert out.exists() and "seeds 3..3" in done.stdout


def test_interpolate_writes_a_strip(server_url: str, tmp_path: Path, capsys) -> None:
    strip = tmp_path / "strip.png"
    code = cli.main(["interpolate", "--model", "cgen", "--seeds", "1", "2", "--labels", "c0", "c9", "--steps", "6",
                     "--method", "lerp", "--out", str(strip), "--url", server_url])
    assert code == 0 and "6 steps from seed 1 to 2 (lerp)" in capsys.readouterr().out
    with Image.open(strip) as im:
        assert im.size == (6 * 8 + 7 * 2, 8 + 2 * 2)
        assert im.text["labels"] == "0,0,0,9,9,9"


def test_translate_writes_the_translation(server_url: str, tmp_path: Path, capsys) -> None:
    source, out, both = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "both.png"
    Image.fromarray((np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)).save(source)
    assert cli.main(["translate", str(source), "--model", "translate", "--out", str(out), "--url", server_url]) == 0
    assert cli.main(["translate", str(source), "--model", "translate", "--out", str(both), "--side-by-side",
                     "--url", server_url]) == 0
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
    done = run_cli("generate", "--model", "cgen", "--labels", "42", "--out", str(tmp_path / "x.png"),
                   "--url", server_url)
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


def burst(url: str, seconds: float) -> threading.Thread:
    """Keep the tight server's 8-item queue full for `seconds`: 8 workers re-sending 4-image requests."""

    async def flood() -> None:
        end = time.monotonic() + seconds
        async with AsyncClient(url, retry=Retry(attempts=10_000, backoff=0.002, max_wait=0.005)) as c:
            async def worker(i: int) -> None:
                while time.monotonic() < end:
                    await c.generate("dcgan", 4, seed=i)

            await asyncio.gather(*(worker(i) for i in range(8)))

    thread = threading.Thread(target=asyncio.run, args=(flood(),))
    thread.start()
    return thread


def test_generate_is_refused_while_the_queue_is_full_and_retries(tight_server_url: str, tmp_path: Path, capsys) -> None:
    """An 8-image request cannot fit while others wait; the CLI says so, waits Retry-After, and then gets through."""
    out = tmp_path / "grid.png"
    for _ in range(5):  # the burst almost always keeps the queue busy; try again in the rare case it did not
        thread = burst(tight_server_url, seconds=0.6)
        time.sleep(0.2)
        try:
            code = cli.main(["generate", "--model", "dcgan", "--n", "8", "--seed", "1", "--out", str(out),
                             "--retries", "5", "--url", tight_server_url])
        finally:
            thread.join()
        err = capsys.readouterr().err
        if "refused" in err:
            break
    assert "attempt 1/5 refused (503: " in err and "retrying in 1.0s" in err
    assert code == 0 and out.exists()
