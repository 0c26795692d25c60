"""`pip install mwpbench` must behave like a checkout: tasks, prompts and templates ship inside.

Builds the wheel, installs it (without dependencies) into a fresh virtual environment that
sees this interpreter's packages, and runs it from a directory far from the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    if built.returncode != 0:
        if "hatchling" in built.stderr and ("No matching distribution" in built.stderr or "Could not" in built.stderr):
            pytest.skip(f"cannot fetch the build backend (hatchling): {built.stderr[-300:]}")
        raise AssertionError(built.stderr)
    (path,) = out.glob("mwpbench-*.whl")
    return path


def test_wheel_carries_tasks_prompts_templates_and_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mwpbench/_data/tasks/gsm8k.yaml" in names
    assert "mwpbench/_data/tasks/suites/mwpbench.yaml" in names
    assert "mwpbench/_data/prompts/alpaca.jinja" in names
    assert any(n.startswith("mwpbench/_data/leaderboard/templates/") for n in names)
    assert "mwpbench/_samples/demo.jsonl" in names
    assert "mwpbench/leaderboard/reported/mathscale_table5.json" in names  # the paper's rows
    katex = "mwpbench/_data/leaderboard/static/vendor/katex/"
    assert {katex + f for f in ("katex.min.js", "katex.min.css", "LICENSE")} <= names
    assert katex + "fonts/KaTeX_Main-Regular.woff2" in names
    assert "mwpbench/py.typed" in names
    assert not any("/site/" in n for n in names), "a built leaderboard site must not ship"


def test_installed_wheel_lists_tasks_from_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    assert installed.returncode == 0, installed.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = _run(
        [
            str(python),
            "-c",
            "import mwpbench, mwpbench.prompts as p; "
            "print(mwpbench.__file__); print(','.join(mwpbench.list_tasks())); "
            "print(p.load_prompt('alpaca').hash)",
        ],
        cwd=away,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    where, tasks, prompt_hash = probe.stdout.splitlines()
    assert str(venv) in where, f"imported the checkout, not the wheel: {where}"
    assert tasks.split(",")[:3] == ["gsm8k", "math", "college_math"]
    assert "agieval_math" in tasks and "fresh_gaokao_math_2023" in tasks
    assert len(prompt_hash) == 64
    listed = _run([str(venv / "bin" / "mwpbench"), "tasks"], cwd=away, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "gaokaobench_math" in listed.stdout
    # the leaderboard of an empty results folder: Table 5 and KaTeX come from the wheel
    (away / "results").mkdir()
    built = _run([str(venv / "bin" / "mwpbench"), "leaderboard", "results", "-o", "site"],
                 cwd=away, env=env)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "0 run(s), 18 reported row(s)" in built.stdout
    assert (away / "site" / "static" / "vendor" / "katex" / "katex.min.js").is_file()
