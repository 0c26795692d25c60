"""The README's install lines hold on any machine (issue 12.7): a CPU build of torch where
there is none, the torch (or vLLM's torch) already installed kept as it is."""

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


def test_the_torch_step_is_a_cpu_build_and_pins_nothing() -> None:
    for name in ("main-command", "test-command"):
        command = block(name)
        step = torch_step(command)
        assert "--index-url https://download.pytorch.org/whl/cpu" in step
        assert "torch==" not in command  # a pin would replace an installed (vLLM's) torch
        assert command.index(step) < command.index('-e ".[')  # before the [hf] extra
    assert torch_step(block("main-command")) == torch_step(block("test-command"))


def test_the_readme_says_what_to_do_elsewhere() -> None:
    setup = README.split("## Set up", 1)[1].split("## Evaluating a model", 1)[0]
    assert "already has torch or vLLM" in setup and "skip the step" in setup
    assert "CPU build of torch" in setup and "pins win" in setup


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
