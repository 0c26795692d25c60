"""Nothing escapes `grade()`, `is_equivalent()` or `grade_many()`: an internal failure (a
worker that dies or cannot start, a bug in extraction) is a Verdict with status `error`
and the reason in `detail`, never an exception; only bad arguments raise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mwpbench
from mwpbench.errors import ConfigError
from mwpbench.grading import _selftest as st
from mwpbench.grading import api

REPO = Path(__file__).resolve().parents[2]


def test_a_worker_that_dies_is_an_error_verdict(monkeypatch):
    monkeypatch.setattr(api, "compare_answers", st.crash)
    verdict = mwpbench.grade(*st.SYMBOLIC, timeout=30)
    assert (verdict.correct, verdict.status) == (False, "error")
    assert verdict.detail == "worker died: exit code 3"
    assert verdict.extracted == "x^2+2x+1"  # what was extracted is still reported
    assert mwpbench.is_equivalent("x^2+2x+1", "(x+1)^2", timeout=30) is False
    items = [{"completion": c, "gold": g} for c, g in (st.SYMBOLIC, ("#### 7", "7"))]
    assert [v.status for v in mwpbench.grade_many(items, jobs=1, timeout=30)] == [
        "error", "correct",
    ]  # fmt: skip


def test_the_memory_cap_is_a_parse_error_not_an_internal_one(monkeypatch):
    monkeypatch.setattr(api, "compare_answers", st.out_of_memory)
    verdict = mwpbench.grade(*st.SYMBOLIC, timeout=30)
    assert verdict.status == "parse_error"
    assert "memory cap" in verdict.detail


def test_a_bug_in_extraction_is_an_error_verdict(monkeypatch):
    def broken(*_args):
        raise KeyError("a bug")

    monkeypatch.setattr(api, "_prepare", broken)
    verdict = mwpbench.grade("The answer is 5.", "5")
    assert verdict.status == "error"
    assert verdict.detail == "internal grading error: KeyError: 'a bug'"
    assert [v.status for v in mwpbench.grade_many([{"completion": "5", "gold": "5"}])] == [
        "error"
    ]


def test_bad_items_in_grade_many_are_verdicts_not_exceptions():
    verdicts = list(mwpbench.grade_many([None, {"completion": "#### 3", "gold": "3"}], jobs=1))
    assert [v.status for v in verdicts] == ["error", "correct"]


def test_bad_arguments_still_raise():
    with pytest.raises(ConfigError):
        mwpbench.grade("5", "5", timeout=0)
    with pytest.raises(ConfigError):
        list(mwpbench.grade_many([], jobs=0.5))


NO_PYTHON = """
import sys
import mwpbench
from mwpbench.grading import _selftest as st
sys.executable = "/nonexistent/python"  # grading processes cannot start
v = mwpbench.grade(*st.SYMBOLIC)
print(v.status)
print(v.detail)
print(mwpbench.is_equivalent("x^2+2x+1", "(x+1)^2"))
items = [{"completion": c, "gold": g} for c, g in (st.SYMBOLIC, ("#### 7", "7"), st.SYMBOLIC)]
print(" ".join(v.status for v in mwpbench.grade_many(items, jobs=2)))
print(mwpbench.grade(*st.SYMBOLIC).status)  # still a verdict the second time
"""


def test_workers_that_cannot_start_give_error_verdicts():
    proc = subprocess.run(
        [sys.executable, "-c", NO_PYTHON], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    status, detail, equivalent, many, again = proc.stdout.splitlines()
    assert status == "error"
    assert "cannot start the grading worker spawner (/nonexistent/python)" in detail
    assert equivalent == "False"
    assert many == "error correct error"
    assert again == "error"
