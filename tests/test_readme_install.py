"""The README's install lines hold on this image, and say in words what to do elsewhere
(issue 12.7): a CPU build of torch first, and no torch step where torch or vLLM is installed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def block(name: str) -> str:
    """The command between <!-- name --> markers (.ci/run reads the test line this way)."""
    body = re.search(rf"<!-- {name} -->\n(.*?)<!-- /{name} -->", README, re.DOTALL)
    assert body is not None, name
    return "\n".join(line for line in body.group(1).splitlines() if not line.startswith("```"))


def torch_step(command: str) -> str:
    [step] = [s.strip() for s in command.split("&&") if "install torch" in s]
    return step


def test_the_torch_step_is_the_local_cpu_wheel_before_the_extras() -> None:
    for name in ("main-command", "test-command"):
        command = block(name)
        step = torch_step(command)
        # the CPU wheel on this image's disk: no network, seconds (an index URL here would
        # wait on an unreachable host before falling back to it)
        assert step == "python3 -m pip install torch==2.13.0"
        assert command.index(step) < command.index('-e ".[')  # before the [hf] extra


def test_the_readme_says_what_to_do_elsewhere() -> None:
    setup = README.split("## Set up", 1)[1].split("## Evaluating a model", 1)[0]
    assert "already has torch or vLLM" in setup and "skip the torch step" in setup
    assert "CPU build of torch" in setup and "pins win" in setup
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup


@pytest.mark.slow
def test_the_torch_step_works_here_and_keeps_the_installed_torch() -> None:
    pytest.importorskip("torch")
    argv = shlex.split(torch_step(block("main-command")))
    assert argv[:4] == ["python3", "-m", "pip", "install"]
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", *argv[4:]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Requirement already satisfied: torch" in done.stdout
    would = [line for line in done.stdout.splitlines() if line.startswith("Would install")]
    assert not any(re.search(r"\btorch-\d", line) for line in would), would
