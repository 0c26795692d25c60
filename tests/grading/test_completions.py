"""Real-output habits: whole completions written the way models write, graded by `grade()`.

`completions.jsonl`, one row per (completion, gold):
`{"source", "style", "completion", "gold", "correct"}` plus optional `rule` (one or a list of
acceptable rules), `extracted` (what a person reads as the answer: one, a list of acceptable
ones, null for none, "*" for anything), `status`, `choices`, `finish_reason` and `note`.

`source` names the model family whose habits the row imitates (the completions are written
for this table: no real question or model output is copied). `style` is the habit:
our own prompt formats (`own_boxed`, `own_answer_is`, `own_hash`), GPT-3 few-shot `A:`
answers, chain-of-thought prose, plan-and-solve `Answer:` lines, Chinese exam format,
tool-integrated code with output blocks, chat markdown, few-shot continuations, Minerva's
"Final Answer:", multiple choice and MATH-style LaTeX without a box. Every style has rows a
grader must accept and rows it must reject; a false row's gold is usually the number a
careless extractor would pick (a trailing aside, the continuation's answer, a digit inside
LaTeX).

Every row's verdict is asserted. An expected value is never changed to match the code.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_strict_cases import STATUSES, _as_list, _extracted_matches

import mwpbench
from mwpbench.grading.extract import extract
from mwpbench.types import Verdict

TABLE = Path(__file__).with_name("completions.jsonl")
RULES = {
    "boxed", "final_answer", "answer_is", "hash", "choice", "closing", "last_expression",
    "last_number", "none",
}  # fmt: skip
STYLES = {
    "own_boxed", "own_answer_is", "own_hash", "gpt3_qa", "cot_prose", "plan_and_solve",
    "chinese_exam", "tool_integrated", "chat_markdown", "few_shot_continuation", "minerva",
    "multiple_choice", "latex_fallback",
}  # fmt: skip
FIELDS = {
    "source", "style", "completion", "gold", "correct", "rule", "extracted", "status",
    "choices", "finish_reason", "note",
}  # fmt: skip


def _load() -> list[tuple[int, dict[str, Any]]]:
    with TABLE.open(encoding="utf-8") as f:
        return [(n, json.loads(line)) for n, line in enumerate(f, start=1) if line.strip()]


ROWS = _load()


def _params(rows: list[tuple[int, dict[str, Any]]]) -> list[Any]:
    return [pytest.param(row, id=f"L{n}-{row['style']}") for n, row in rows]


def test_table_size_and_shape() -> None:
    assert len({row["completion"] for _, row in ROWS}) >= 400
    for n, row in ROWS:
        assert {"source", "style", "completion", "gold", "correct"} <= row.keys(), f"line {n}"
        assert row.keys() <= FIELDS, f"line {n}: unknown field {row.keys() - FIELDS}"
        assert row["style"] in STYLES, f"line {n}: unknown style {row['style']!r}"
        assert isinstance(row["correct"], bool), f"line {n}"
        assert isinstance(row["source"], str) and row["source"].strip(), f"line {n}"
        assert set(_as_list(row.get("rule", []))) <= RULES, f"line {n}: unknown rule"
        assert set(_as_list(row.get("status", []))) <= STATUSES, f"line {n}: unknown status"


def test_every_style_has_true_and_false_rows() -> None:
    seen = Counter((row["style"], row["correct"]) for _, row in ROWS)
    for style in sorted(STYLES):
        assert seen[(style, True)] >= 5, f"{style}: too few rows a grader must accept"
        assert seen[(style, False)] >= 5, f"{style}: too few rows a grader must reject"


def test_no_duplicate_rows() -> None:
    keys = Counter(
        (row["completion"], row["gold"], json.dumps(row.get("choices"))) for _, row in ROWS
    )
    assert [k for k, n in keys.items() if n > 1] == []


@pytest.mark.parametrize("row", _params(ROWS))
def test_completion(row: dict[str, Any]) -> None:
    choices = row.get("choices")
    verdict = mwpbench.grade(
        row["completion"], row["gold"], finish_reason=row.get("finish_reason"), choices=choices
    )
    shown = (
        f"[{row['style']}/{row['source']}] gold={row['gold']!r} -> correct={verdict.correct} "
        f"status={verdict.status!r} rule={verdict.rule!r} extracted={verdict.extracted!r} "
        f"detail={verdict.detail!r}\n{row['completion']}"
    )
    assert isinstance(verdict, Verdict)
    if "rule" in row:
        assert verdict.rule in _as_list(row["rule"]), shown
    if "extracted" in row:
        assert _extracted_matches(verdict.extracted, row["extracted"], choices), (
            f"{shown}\nexpected extracted {row['extracted']!r}"
        )
    assert verdict.correct == row["correct"], shown
    if "status" in row:
        assert verdict.status in _as_list(row["status"]), shown


def test_extraction_is_what_grade_reports() -> None:
    """`grade()` reports the answer `extract()` found, for every row without options."""
    for _, row in ROWS:
        if row.get("choices") or row.get("finish_reason"):
            continue
        ex = extract(row["completion"])
        verdict = mwpbench.grade(row["completion"], row["gold"])
        assert verdict.rule == ex.rule, row["completion"]
        if ex.answer:
            assert verdict.extracted == ex.answer, row["completion"]
