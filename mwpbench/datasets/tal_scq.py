"""TAL-SCQ5K-EN (math-eval/TAL-SCQ5K, en_single_choice_test_2K.jsonl), made open-ended.

`answer_option_list` is a list of one-element lists of `{"aoVal": "A", "content": ...}`;
`answer_value` is the correct letter. Gold: that option's text. Questions caught by the
multiple-choice filter are dropped, and so are those whose answer is "None of the above"
(meaningless once the options are gone).
"""

from __future__ import annotations

import re

from mwpbench.datasets.base import Adapter, Context, Drop, Record
from mwpbench.datasets.choices import NONE_OF_THE_ABOVE, choice_keyword, clean_option_text
from mwpbench.datasets.records import read_jsonl
from mwpbench.types import Problem

VERSION = "1"


def options_of(record: Record) -> dict[str, str]:
    """The nested option list -> {letter: text}."""
    out: dict[str, str] = {}
    for group in record.get("answer_option_list", list):
        for option in group if isinstance(group, list) else [group]:
            if not isinstance(option, dict) or "aoVal" not in option:
                raise record.error(
                    "options must be {'aoVal', 'content'} objects", "answer_option_list"
                )
            out[str(option["aoVal"]).strip()] = clean_tal_text(str(option.get("content") or ""))
    return out


def solution_of(record: Record) -> str | None:
    """`answer_analysis` is null or a list of strings; "N/A" placeholders become None."""
    raw = record.get("answer_analysis", (list, str), optional=True)
    text = "\n".join(str(x) for x in raw) if isinstance(raw, list) else raw
    if text is None:
        return None
    bare = re.sub(r"\\hspace\{0pt\}|[\s$.．]", "", text).upper()
    return None if bare.startswith(("N/A", "NA")) or not bare else text.strip()


# TAL's export writes text-mode escapes and full-width punctuation into its LaTeX.
_TAL_FIXES = [
    (re.compile(r"\\textbackslash\s*\\(?=[%$])"), r"\\"),  # \textbackslash\% -> \%
    (re.compile(r"\\textbackslash\s*(?=[%$])"), r"\\"),  # \textbackslash$ -> \$
    (re.compile(r"\\textbackslash\{(.*?)\\textbackslash\}"), r"\\{\1\\}"),
    (re.compile(r"\\textless(\{\})?"), "<"),
    (re.compile(r"\\textgreater(\{\})?"), ">"),
    (re.compile(r"\\textasciitilde(\{\})?"), "~"),
    (re.compile(r"\\_"), "_"),
]
_CURRENCY = re.compile(r"^[£$]\s*(?=\$)")  # "£$30$" -> "$30$" (a unit, not the value)
_FULL_WIDTH = str.maketrans({"，": ", ", "（": "(", "）": ")", "：": ":", "＄": "$", "￡": "£"})


def clean_tal_text(text: str) -> str:
    """Undo TAL's escape artifacts (`\\textbackslash\\%`, `\\textless{}`, `\\_`, `，`)."""
    for pattern, repl in _TAL_FIXES:
        text = pattern.sub(repl, text)
    return text.translate(_FULL_WIDTH)


def to_problem(record: Record, ctx: Context) -> Problem | Drop:
    question = clean_tal_text(record.text("problem")).strip()
    keyword = choice_keyword(question, "en")
    if keyword:
        return Drop(f"multiple-choice keyword {keyword!r}")
    options = options_of(record)
    letter = record.text("answer_value").strip()
    if letter not in options:
        raise record.error(
            f"answer {letter!r} is not among options {sorted(options)}", "answer_value"
        )
    gold = _CURRENCY.sub("", clean_option_text(options[letter]))
    if NONE_OF_THE_ABOVE.match(gold):
        return Drop("answer is 'None of the above'")
    if not gold:
        raise record.error(f"option {letter} is empty", "answer_option_list")
    return ctx.problem(
        record.text("qid"),
        question=question,
        answer=gold,
        solution=solution_of(record),
        meta={
            "difficulty": record.get("difficulty", (str, int), optional=True),
            "answer_letter": letter,
            "options": {k: clean_option_text(v) for k, v in options.items()},
        },
    )


ADAPTER = Adapter(name="tal_scq", version=VERSION, read=read_jsonl, to_problem=to_problem)
