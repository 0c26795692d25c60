"""Out-of-tree tasks (issue 12.9): `--include-path DIR` adds task YAMLs and their adapter
modules to the shipped tasks, like lm-eval's --include_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mwpbench import config
from mwpbench.cli import main
from mwpbench.config import INCLUDE_ENV
from mwpbench.datasets import list_tasks, load_task
from mwpbench.errors import ConfigError, UnknownNameError

TASK_YAML = """\
name: word_sums
description: "Sums written in words (made up for this test)"
label: "WordSums"
adapter: word_sums
version: 1
level: elementary
language: en
translated: false
subsets: ["word_sums"]
prompt: chat_boxed
sources:
  native:
    files:
      test:
        url: https://example.org/word_sums/test.jsonl
        sha256: "{sha}"
mirror:
  folder: word_sums
  native: "."
"""

ADAPTER = """\
from mwpbench.datasets.base import Adapter
from mwpbench.datasets.records import read_jsonl


def to_problem(record, ctx):
    return ctx.problem(str(record.get("n", int)), question=record.text("q"),
                       answer=record.text("a"))


ADAPTER = Adapter(name="word_sums", version="1", read=read_jsonl, to_problem=to_problem)
"""


@pytest.fixture
def included(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A task folder and a mirror with its data; $MWPBENCH_INCLUDE_PATH restored after."""
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "word_sums.yaml").write_text(TASK_YAML.replace("{sha}", "0" * 64))
    (folder / "word_sums.py").write_text(ADAPTER)
    data = tmp_path / "data" / "word_sums"
    data.mkdir(parents=True)
    rows = [{"n": 1, "q": "What is two plus two?", "a": "4"},
            {"n": 2, "q": "What is three plus one?", "a": "4"}]  # fmt: skip
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv(INCLUDE_ENV, "")
    return folder


def test_include_path_adds_a_task_to_every_command(included: Path, tmp_path: Path,
                                                   capsys) -> None:  # fmt: skip
    assert main(["tasks", "--include-path", str(included)]) == 0
    assert "word_sums" in capsys.readouterr().out
    code = main(["eval", "--model", "m", "--backend", "mock", "--include-path", str(included),
                 "--tasks", "word_sums", "--source", "native", "--data-dir",
                 str(tmp_path / "data"), "--output", str(tmp_path / "out"), "--run-id", "r",
                 "-q", "-j", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    run = json.loads((tmp_path / "out" / "r" / "run.json").read_text())
    assert run["tasks"][0]["name"] == "word_sums" and run["prompt"]["name"] == "chat_boxed"
    assert run["metrics"]["strict"]["datasets"]["word_sums"]["accuracy"] == 1.0
    assert main(["check-data", "word_sums", "--source", "native", "--data-dir",
                 str(tmp_path / "data"), "--include-path", str(included)]) == 0  # fmt: skip


def test_the_environment_variable_is_the_python_route(included: Path, tmp_path: Path,
                                                      monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv(INCLUDE_ENV, str(included))
    assert list_tasks()[-1] == "word_sums"
    problems = load_task("word_sums", source="native", data_files=tmp_path / "data" / "word_sums")
    assert [p.id for p in problems] == ["word_sums/native/1", "word_sums/native/2"]
    with pytest.raises(ConfigError, match="has no 'mwpbench' source"):
        load_task("word_sums", data_files=tmp_path / "data" / "word_sums" / "test.jsonl")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: (d / "word_sums.py").unlink(), "or a file word_sums.py next to"),
        (lambda d: (d / "word_sums.py").write_text("X = 1\n"), "must define ADAPTER"),
        (lambda d: (d / "word_sums.py").write_text("raise RuntimeError('boom')\n"),
         "failed to import: RuntimeError: boom"),
        (lambda d: (d / "gsm8k.yaml").write_text(
            (config.tasks_dir() / "gsm8k.yaml").read_text()), "already defined"),
    ],
)  # fmt: skip
def test_included_task_errors(included: Path, tmp_path: Path, monkeypatch, edit, match) -> None:
    edit(included)
    monkeypatch.setenv(INCLUDE_ENV, str(included))
    with pytest.raises((ConfigError, UnknownNameError), match=match):
        load_task("word_sums", source="native", data_files=tmp_path / "data" / "word_sums")


def test_a_missing_include_folder_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(INCLUDE_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="not a folder"):
        list_tasks()
