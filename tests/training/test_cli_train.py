"""`python -m training train`: every flag has help; bad settings exit 2 with a message, before a run folder."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from training.__main__ import build_parser, main
from training.cli_train import HELP
from training.config import TrainConfig


def test_every_setting_has_help_text() -> None:
    assert set(HELP) == {f.name for f in dataclasses.fields(TrainConfig)}
    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    helps = {a.dest: a.help for a in train._actions}
    for f in dataclasses.fields(TrainConfig):
        assert helps[f.name] and HELP[f.name] in helps[f.name]


def test_help_shows_the_flags_with_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--image-size INT resize images to this square size, one of 28, 32, 64, 128" in out
    assert "--flip, --no-flip mirror training images left-right" in out


def test_bad_settings_exit_2_before_any_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--family", "dcgan", "--image-size", "50", "--runs-dir", str(tmp_path / "runs")])
    assert code == 2 and "supported sizes: 28, 32, 64, 128" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_config_module_imports_no_family() -> None:
    """training.config is the bottom of the import graph: families import it, never the reverse."""
    code = "import sys, training.config; print(any(m.startswith('training.families') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
