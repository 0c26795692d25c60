"""The strict grader against its policy (DESIGN.md, "Grading"), as two data tables.

`cases.jsonl`: answer vs answer, through `mwpbench.is_equivalent(pred, gold)`; one row is
`{"source", "category", "pred", "gold", "equivalent", "note"}`. Every pred whose braces balance
is also graded inside `\\boxed{}` through `grade()`, which must agree with the row.

`extract_cases.jsonl`: whole completions, through `mwpbench.grade(completion, gold, ...)`;
one row is `{"source", "completion", "gold", "extracted", "rule", "correct"}` plus optional
`choices`, `finish_reason` and `status`. `rule` and `status` may list several acceptable
values; `extracted` is the answer as a human reads it (compared loosely), a list of
acceptable answers, null for "no answer", or "*" where the policy leaves it open.

`source` says where a row comes from: "policy" (DESIGN.md), "issue:<n>" (an example named
in that issue), "model-output" (a habit of real model output: spacing, Unicode, labels,
words; values our own), "official-false-positive" (the official substring matcher accepts
it), "mathverify-weakness", "qwen-grader-weakness", or "dataset:<task>" (a shape seen in that
dataset; values are our own). `category` is the row's style: one kind of answer, with true
and false rows in each. Where the policy was silent and a choice was made, the row says so in
`note` (and README's policy table). An expected value is never changed to match the code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import mwpbench
from mwpbench.types import Verdict

HERE = Path(__file__).parent
CASES_FILE = HERE / "cases.jsonl"
EXTRACT_FILE = HERE / "extract_cases.jsonl"

CATEGORIES = {
    "integer_separators",
    "decimal_fraction",
    "percent",
    "money",
    "units",
    "scientific",
    "surds_pi",
    "exact_vs_approx",
    "algebraic",
    "equations",
    "solution_lists",
    "sets",
    "tuples",
    "intervals",
    "inequalities",
    "matrices",
    "complex",
    "angles",
    "trig_log",
    "choice",
    "text",
    "hedged",
    "malformed",
    "grouped_thousands",
    "scale_words",
    "unicode",
    "latex_forms",
    "named_functions",
    "division_by_zero",
    "labelled",
    "ratios_times",
    "size_caps",
    "chinese",
    "rounding",
}
RULES = {
    "boxed", "final_answer", "answer_is", "hash", "choice", "closing", "last_expression",
    "last_number", "none",
}  # fmt: skip
STATUSES = {"correct", "incorrect", "no_answer", "parse_error", "timeout", "error"}
SOURCE = re.compile(
    r"policy|issue:\d+|model-output|official-false-positive|mathverify-weakness|"
    r"qwen-grader-weakness|dataset:[a-z0-9_]+"
)


def _load(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                rows.append((lineno, json.loads(line)))
    return rows


CASES = _load(CASES_FILE)
EXTRACT_CASES = _load(EXTRACT_FILE)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _case_params() -> list[Any]:
    return [pytest.param(row, id=f"L{lineno}-{row['category']}") for lineno, row in CASES]


def _extract_params() -> list[Any]:
    return [
        pytest.param(row, id=f"L{lineno}-{_as_list(row['rule'])[0]}")
        for lineno, row in EXTRACT_CASES
    ]


# ------------------------------------------------------------------ the tables themselves


def test_answer_table_size() -> None:
    assert len(CASES) >= 1000


def test_answer_table_rows_are_well_formed() -> None:
    required = {"source", "category", "pred", "gold", "equivalent", "note"}
    for lineno, row in CASES:
        assert required <= row.keys(), f"line {lineno}: missing {required - row.keys()}"
        assert isinstance(row["source"], str) and row["source"].strip(), f"line {lineno}: no source"
        assert SOURCE.fullmatch(row["source"]), f"line {lineno}: unknown source {row['source']!r}"
        assert row["category"] in CATEGORIES, f"line {lineno}: unknown category {row['category']!r}"
        assert isinstance(row["pred"], str) and isinstance(row["gold"], str), f"line {lineno}"
        assert isinstance(row["equivalent"], bool), f"line {lineno}: equivalent must be a bool"
        assert isinstance(row["note"], str), f"line {lineno}"


def test_answer_table_has_true_and_false_rows_in_every_category() -> None:
    seen = Counter((row["category"], row["equivalent"]) for _, row in CASES)
    for category in sorted(CATEGORIES):
        assert seen[(category, True)] > 0, f"{category}: no equivalent=true row"
        assert seen[(category, False)] > 0, f"{category}: no equivalent=false row"


def test_answer_table_has_no_duplicate_pairs() -> None:
    pairs = Counter((row["pred"], row["gold"]) for _, row in CASES)
    assert [pair for pair, n in pairs.items() if n > 1] == []


def test_extract_table_rows_are_well_formed() -> None:
    assert len(EXTRACT_CASES) >= 60
    required = {"source", "completion", "gold", "extracted", "rule", "correct"}
    for lineno, row in EXTRACT_CASES:
        assert required <= row.keys(), f"line {lineno}: missing {required - row.keys()}"
        assert isinstance(row["source"], str) and row["source"].strip(), f"line {lineno}: no source"
        assert SOURCE.fullmatch(row["source"]), f"line {lineno}: unknown source {row['source']!r}"
        assert set(_as_list(row["rule"])) <= RULES, f"line {lineno}: unknown rule {row['rule']!r}"
        assert isinstance(row["correct"], bool), f"line {lineno}"
        if "status" in row:
            assert set(_as_list(row["status"])) <= STATUSES, f"line {lineno}"


# ------------------------------------------------------------------ answer vs answer


@pytest.mark.parametrize("row", _case_params())
def test_is_equivalent(row: dict[str, Any]) -> None:
    got = mwpbench.is_equivalent(row["pred"], row["gold"])
    assert isinstance(got, bool)
    assert got == row["equivalent"], (
        f"is_equivalent({row['pred']!r}, {row['gold']!r}) -> {got}, expected "
        f"{row['equivalent']} [{row['source']}] {row['note']}"
    )


def _boxable(row: dict[str, Any]) -> bool:
    """Rows whose pred can be put inside \\boxed{} as is: balanced braces, no math delimiters."""
    pred = row["pred"]
    depth = 0
    for ch in pred.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    unescaped_dollar = re.search(r"(?<!\\)\$", pred) is not None
    return depth == 0 and bool(pred.strip()) and not unescaped_dollar and "boxed" not in pred


@pytest.mark.parametrize(
    "row",
    [p for p in _case_params() if p.values[0]["category"] != "malformed" and _boxable(p.values[0])],
)
def test_grade_of_boxed_pred_agrees_with_table(row: dict[str, Any]) -> None:
    """grade() = extract -> compare: a boxed pred is graded as the pair itself."""
    completion = "Putting it together, the result is $\\boxed{" + row["pred"] + "}$."
    verdict = mwpbench.grade(completion, row["gold"])
    assert verdict.rule == "boxed", verdict
    assert verdict.correct == row["equivalent"], (
        f"grade(boxed {row['pred']!r}, {row['gold']!r}) -> {verdict}, expected "
        f"{row['equivalent']} [{row['source']}] {row['note']}"
    )


# ------------------------------------------------------------------ completions

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    """Loose normal form for comparing extracted answers: no spaces, delimiters, end period."""
    text = _SPACE.sub("", text)
    for wrapper in ("$$", "$", r"\(", r"\)", r"\[", r"\]"):
        text = text.replace(wrapper, "")
    return text.rstrip(".").lower()


def _letter(text: str) -> str | None:
    m = re.fullmatch(r"(?:\\text(?:bf)?\{)?\(?([A-Fa-f])\)?\}?", _norm(text))
    return m.group(1).upper() if m else None


def _extracted_matches(got: str | None, expected: Any, choices: Mapping[str, str] | None) -> bool:
    """`expected` is one answer or a list of acceptable ones; None stands for "nothing" and
    "*" for "anything" (malformed text, where what is reported is the implementation's call)."""
    if expected == "*":
        return True
    for alt in _as_list(expected):
        if alt is None:
            if got is None or _norm(got) == "":
                return True
            continue
        if got is None:
            continue
        if _norm(got) == _norm(alt):
            return True
        if choices:
            # a choice letter may be reported as the letter or as its option's text
            letter = _letter(alt)
            if letter in choices and (
                _letter(got) == letter or _norm(got) == _norm(choices[letter])
            ):
                return True
        if mwpbench.is_equivalent(got, alt):
            return True
    return False


@pytest.mark.parametrize("row", _extract_params())
def test_grade_completion(row: dict[str, Any]) -> None:
    choices = row.get("choices")
    verdict = mwpbench.grade(
        row["completion"],
        row["gold"],
        finish_reason=row.get("finish_reason"),
        choices=choices,
    )
    shown = (
        f"grade({row['completion']!r}, {row['gold']!r}) -> correct={verdict.correct} "
        f"status={verdict.status!r} rule={verdict.rule!r} extracted={verdict.extracted!r} "
        f"method={verdict.method!r} detail={verdict.detail!r}"
    )
    assert isinstance(verdict, Verdict)
    assert verdict.correct == row["correct"], shown
    assert (verdict.status == "correct") == verdict.correct, shown
    if "status" in row:
        assert verdict.status in _as_list(row["status"]), shown
    assert verdict.rule in _as_list(row["rule"]), shown
    assert _extracted_matches(verdict.extracted, row["extracted"], choices), (
        f"{shown}; expected extracted {row['extracted']!r}"
    )
