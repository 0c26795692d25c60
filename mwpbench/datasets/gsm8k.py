"""GSM8K (openai/grade-school-math, test.jsonl): `question`, `answer` ending in `#### N`.

Gold: the number after the last `####`, thousands commas removed. Solution: the worked
answer without its `<<...>>` calculator annotations (it keeps the `#### N` line).
"""

from __future__ import annotations

import re

from mwpbench.datasets.base import Adapter, Context, Record
from mwpbench.datasets.records import read_jsonl
from mwpbench.types import Problem

VERSION = "1"

_CALC = re.compile(r"<<[^<>]*>>")


def final_answer(solution: str) -> str | None:
    """`... #### 1,450,000` -> `1450000`; None without a `####` line."""
    if "####" not in solution:
        return None
    value = solution.rsplit("####", 1)[1].strip()
    return re.sub(r"(?<=\d),(?=\d)", "", value) or None


def to_problem(record: Record, ctx: Context) -> Problem:
    solution = record.text("answer")
    gold = final_answer(solution)
    if gold is None:
        raise record.error("no '#### <answer>' line", "answer")
    return ctx.problem(
        str(record.index),
        question=record.text("question"),
        answer=gold,
        solution=_CALC.sub("", solution),
    )


ADAPTER = Adapter(name="gsm8k", version=VERSION, read=read_jsonl, to_problem=to_problem)
