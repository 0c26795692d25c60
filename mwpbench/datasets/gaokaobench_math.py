"""GAOKAO-Bench math (OpenLMLab/GAOKAO-Bench, 2024-02 data), Chinese originals.

Each file is `{"keywords": ..., "example": [...]}`; a record's original id is
`<keywords>.<position in example>`, the same `question_number` the MWPBench English file
uses. MCQs: `answer` is a list of letters and the options are inline (`\\nA. ...\\nB. ...`):
the options are cut from the question and the gold is the chosen option's text (several
letters: texts joined by ", "). MCQs caught by the Chinese multiple-choice filter are
dropped. Fill-in: `answer` is a string ending in a newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mwpbench.datasets.base import Adapter, Context, Drop, Record
from mwpbench.datasets.choices import answer_text, choice_keyword, clean_option_text, letters
from mwpbench.datasets.records import read_json
from mwpbench.errors import DataError
from mwpbench.types import Problem

VERSION = "1"

_MARKER = re.compile(r"(?:^|(?<=\s))([A-H])\s*[.．、]")


def read(path: Path, file: str) -> Iterator[Record]:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("example"), list):
        raise DataError(
            "expected {'keywords': ..., 'example': [...]}", path=str(path), field="example"
        )
    keywords = data.get("keywords")
    if not isinstance(keywords, str) or not keywords:
        raise DataError("missing field", path=str(path), field="keywords")
    for index, item in enumerate(data["example"]):
        if not isinstance(item, dict):
            raise DataError(f"example {index} is not an object", path=str(path), field="example")
        yield Record(
            data={**item, "_keywords": keywords}, path=str(path), line=None, index=index, file=file
        )


def split_options(question: str) -> tuple[str, dict[str, str]] | None:
    """`stem\\nA. x\\nB. y ...` -> (stem, {"A": "x", ...}); None when no A-B-C-D run is found."""
    marks = list(_MARKER.finditer(question))
    for k in range(len(marks) - 1, -1, -1):
        if marks[k].group(1) != "A":
            continue
        run = [marks[k]]
        for m in marks[k + 1 :]:
            if m.group(1) == chr(ord(run[-1].group(1)) + 1):
                run.append(m)
        if len(run) >= 2:
            bounds = [m.start() for m in run[1:]] + [len(question)]
            options = {
                m.group(1): clean_option_text(question[m.end() : end])
                for m, end in zip(run, bounds)
            }
            return question[: run[0].start()].strip(), options
    return None


def to_problem(record: Record, ctx: Context) -> Problem | Drop:
    question = record.text("question")
    raw = record.get("answer", (list, str))
    meta = {
        "part": record.data["_keywords"],
        "year": record.get("year", (str, int), optional=True),
        "category": record.get("category", str, optional=True),
        "score": record.get("score", (int, float, str), optional=True),
    }
    if isinstance(raw, list):
        split = split_options(question)
        if split is None:
            raise record.error("no inline options 'A. ... B. ...' in an MCQ", "question")
        stem, options = split
        keyword = choice_keyword(stem, ctx.language)
        if keyword:
            return Drop(f"multiple-choice keyword {keyword!r}")
        chosen = letters("".join(str(x) for x in raw))
        if not chosen or any(c not in options for c in chosen):
            raise record.error(f"answer {raw!r} is not among options {sorted(options)}", "answer")
        question, gold = stem, answer_text(options, chosen)
        meta.update(answer_letters="".join(chosen), options=options)
    else:
        gold = raw.strip()
    if not gold:
        raise record.error("empty answer", "answer")
    return ctx.problem(
        f"{record.data['_keywords']}.{record.index}",
        question=question.strip(),
        answer=gold,
        solution=record.get("analysis", str, optional=True),
        meta=meta,
    )


ADAPTER = Adapter(name="gaokaobench_math", version=VERSION, read=read, to_problem=to_problem)
