"""MATH (Hendrycks et al.; ZubinGou/math-evaluation-harness data/math/test.jsonl).

Fields `problem`, `level` ("Level 3"), `type` ("Counting & Probability"), `solution`, `idx`.
Gold: the content of the last `\\boxed{...}` (or `\\fbox{...}`) in the solution; adjacent
boxes joined by "and"/"or" are one multi-valued answer (11 test items). Subset
`MATH.<Type with underscores>`; level is the item's own "Level N".
"""

from __future__ import annotations

from mwpbench.datasets.base import Adapter, Context, Record
from mwpbench.datasets.records import read_jsonl
from mwpbench.grading.extract import boxed_answer
from mwpbench.types import Problem

VERSION = "1"


def last_boxed(text: str) -> str | None:
    """The solution's answer: its last `\\boxed{...}`, read by the grader's extractor, so
    adjacent boxes joined by "and"/"or" form one list (MATH solutions with two roots box
    both: "$\\boxed{3}$ or $\\boxed{\\frac{2}{5}}$" -> "3, \\frac{2}{5}", not "\\frac{2}{5}")."""
    return boxed_answer(text)


def subset_of(subject: str) -> str:
    return "MATH." + subject.strip().replace(" ", "_")


def to_problem(record: Record, ctx: Context) -> Problem:
    solution = record.text("solution")
    gold = last_boxed(solution)
    if gold is None or not gold.strip():
        raise record.error("no \\boxed{...} answer in the solution", "solution")
    original = record.get("idx", (int, str), optional=True)
    return ctx.problem(
        str(original if original is not None else record.index),
        subset=subset_of(record.text("type")),
        question=record.text("problem"),
        answer=gold.strip(),
        level=record.text("level"),
        solution=solution,
        meta={"type": record.get("type")},
    )


ADAPTER = Adapter(name="math", version=VERSION, read=read_jsonl, to_problem=to_problem)
