"""AGIEval (ruixiangcui/AGIEval data/v1/*.jsonl): Gaokao-Math, SAT-Math, MATH.

Records: `passage`, `question`, `options` (`["(A)2", ...]` or null), `label` (letters or
null), `answer` (string or null), `other`. Multiple choice becomes open-ended: questions
caught by the filter are dropped and the gold is the labelled option's text (several
letters: texts joined by ", "). Cloze and MATH items use `answer`. The filter applies to
every English item (it reproduces SAT-Math 102 and AGIEval-MATH 938) and to the Chinese
multiple-choice file.
"""

from __future__ import annotations

from mwpbench.datasets.base import Adapter, Context, Drop, Record
from mwpbench.datasets.choices import answer_text, choice_keyword, letters, parse_paren_options
from mwpbench.datasets.records import read_jsonl
from mwpbench.types import Problem

VERSION = "1"


def to_problem(record: Record, ctx: Context) -> Problem | Drop:
    question = record.text("question").strip()
    raw_options = record.get("options", list, optional=True)
    if raw_options is not None or ctx.language == "en":
        keyword = choice_keyword(question, ctx.language)  # the question, not the passage
        if keyword:
            return Drop(f"multiple-choice keyword {keyword!r}")
    passage = record.get("passage", str, optional=True)
    if passage and passage.strip():
        question = f"{passage.strip()}\n\n{question}"
    other = record.get("other", dict, optional=True) or {}
    meta: dict[str, object] = {"file": record.file}
    if raw_options is not None:
        try:
            options = parse_paren_options([str(o) for o in raw_options])
        except ValueError as exc:
            raise record.error(str(exc), "options") from exc
        label = record.text("label")
        chosen = letters(label)
        if not chosen or any(c not in options for c in chosen):
            raise record.error(f"label {label!r} is not among options {sorted(options)}", "label")
        gold = answer_text(options, chosen)
        meta.update(answer_letters="".join(chosen), options=options)
    else:
        gold = record.text("answer").strip()
    level = other.get("level")
    if "type" in other:
        meta["type"] = other["type"]
    if "source" in other:
        meta["exam"] = other["source"]
    return ctx.problem(
        f"{record.file}.{record.index}",
        question=question,
        answer=gold,
        level=f"Level {level}" if isinstance(level, int) else ctx.level,
        solution=other.get("solution") if isinstance(other.get("solution"), str) else None,
        meta=meta,
    )


def _adapter(name: str) -> Adapter:
    return Adapter(name=name, version=VERSION, read=read_jsonl, to_problem=to_problem)


GAOKAO_MATH = _adapter("agieval_gaokao_math")
SAT_MATH = _adapter("agieval_sat_math")
MATH = _adapter("agieval_math")
