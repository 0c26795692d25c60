"""Multiple choice -> open-ended, the paper's way (MathScale App. A.1).

Drop questions whose lower-cased text contains one of KEYWORDS_EN (this reproduces the
published 102 SAT-Math and 938 AGIEval-MATH items exactly), strip the options, and answer
with the text of the correct option. For Chinese originals (not in the paper, which filtered
after translating) KEYWORDS_ZH plays the same role: 下列/下面/以下 ("the following") and 哪
("which").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

KEYWORDS_EN = (
    "which of the following", "which one", "which is", "the following", "which statement",
    "which",
)  # fmt: skip
KEYWORDS_ZH = ("下列", "下面", "以下", "哪")

NONE_OF_THE_ABOVE = re.compile(r"^\W*none of (the )?(above|these)\W*$", re.IGNORECASE)


def choice_keyword(question: str, language: str) -> str | None:
    """The filter keyword found in `question`, or None when it survives."""
    text = question.lower()
    for keyword in KEYWORDS_ZH if language == "zh" else KEYWORDS_EN:
        if keyword in text:
            return keyword
    return None


def letters(label: str) -> list[str]:
    """`"A"`, `"AD"`, `"A B D"`, `["D"]` -> the option letters, in order."""
    return [c for c in label.upper() if "A" <= c <= "Z"]


def answer_text(options: Mapping[str, str], chosen: Sequence[str]) -> str:
    """The gold for chosen option letters: one option's text, several joined by ", "."""
    return ", ".join(options[letter] for letter in chosen)


_PAREN_OPTION = re.compile(r"^\s*\(([A-Z])\)\s*")


def parse_paren_options(options: Sequence[str]) -> dict[str, str]:
    """AGIEval options `["(A)2", "(B)4"]` -> {"A": "2", "B": "4"}; ValueError when malformed."""
    out: dict[str, str] = {}
    for option in options:
        m = _PAREN_OPTION.match(option)
        if m is None:
            raise ValueError(f"option {option[:40]!r} does not start with '(A)'")
        out[m.group(1)] = option[m.end() :].strip()
    return out


def clean_option_text(text: str) -> str:
    """Strip whitespace; turn `$$x$$` display delimiters into `$x$`."""
    text = text.strip()
    return re.sub(r"\$\$(.+?)\$\$", r"$\1$", text, flags=re.DOTALL)
