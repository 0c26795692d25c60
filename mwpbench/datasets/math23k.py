"""Math23k (2003pro/Graph2Tree test23k_processed.json, a JSON array), Chinese.

Fields used: `id`, `original_text`, `equation` (`x=...`), `ans` (`((2)/(3))`, `25%`,
`5((7)/(10))` or a number). Gold: see mwpbench.datasets.equations; the equation is evaluated
with exact arithmetic and the agreement is stored in `meta["equation_check"]`.
"""

from __future__ import annotations

import logging

from mwpbench.datasets.arith import ExpressionError
from mwpbench.datasets.base import Adapter, Context, Record
from mwpbench.datasets.equations import check_equation, normalize_ans
from mwpbench.datasets.records import read_json_array
from mwpbench.types import Problem

VERSION = "1"
log = logging.getLogger(__name__)


def to_problem(record: Record, ctx: Context) -> Problem:
    """Shared by Math23k and Ape210k: `ans` -> gold, cross-checked against `equation`."""
    raw = record.get("ans", (str, int, float))
    try:
        answer = normalize_ans(str(raw))
    except (ExpressionError, ZeroDivisionError) as exc:
        raise record.error(f"answer {raw!r} is not a number or arithmetic: {exc}", "ans") from exc
    equation = record.get("equation", str, optional=True)
    check = check_equation(equation, answer) if equation else "absent"
    if check in ("mismatch", "unparsed"):
        log.info(
            "%s %s: ans %r disagrees with equation %r (%s)",
            ctx.task,
            record.get("id", (str, int)),
            raw,
            equation,
            check,
        )
    return ctx.problem(
        str(record.get("id", (str, int))),
        question=record.text("original_text").strip(),
        answer=answer.gold,
        meta={
            "ans": str(raw),
            "ans_kind": answer.kind,
            "equation": equation,
            "equation_check": check,
        },
    )


ADAPTER = Adapter(name="math23k", version=VERSION, read=read_json_array, to_problem=to_problem)
