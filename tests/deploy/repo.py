"""Where the deployment files live, and loaders for them (yaml, Dockerfiles, .dockerignore)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose_default(value: str) -> str:
    """The value docker compose uses when the variable is unset: `${NAME:-default}` -> default; others as they are."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match[1] if match else value


def load_yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    value: str  # the rest, continuation lines joined


def dockerfile_stages(path: Path) -> list[list[Instruction]]:
    """Instructions grouped by build stage (a new stage at each FROM); comments and ARGs before FROM dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stages: list[list[Instruction]] = []
    for text in logical:
        keyword, _, value = text.partition(" ")
        instruction = Instruction(keyword.upper(), value.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore glob: `*` and `?` stay within one path segment, `**` crosses them
    (character classes are not supported: the repo's .dockerignore has none)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            assert pattern[i] != "[", f"character classes are not supported: {pattern}"
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_excludes(rules_path: Path, path: str) -> bool:
    """Whether the build context leaves `path` out: the last rule matching it or one of its parents wins."""
    excluded = False
    for raw in rules_path.read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        regex = _glob_regex(rule.lstrip("!").strip("/"))
        parts = path.split("/")
        if any(regex.match("/".join(parts[:k])) for k in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded
