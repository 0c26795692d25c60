"""Completion -> the answer it commits to, and which rule found it.

The ladder (DESIGN.md): last \\boxed{}/\\fbox{} (nested braces), "final answer is", "the
answer is", "####", a choice letter when the task has options, the last number. Among the
committing rules (boxed, final answer, answer is, ####) the LAST commitment in the text wins,
so a completion that corrects itself counts its final answer. A truncated completion
(finish_reason "length") with no commitment has no answer: its last number is whatever the
model was computing when it was cut off.

All scanning is linear in the completion's length; nothing here can raise on model text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mwpbench.grading.normalize import brace_matches, normalize, unwrap_braced

MAX_SPAN = 400  # longest answer taken from an "answer is" phrase

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_FINAL = re.compile(r"final\s+answer\s*(?:is|:|=|is\s*:)", re.IGNORECASE)
# "answer:" commits only at the start of a line ("We may check our answer: ..." does not)
_ANSWER = re.compile(
    r"(?:\banswer\s*(?:is|=|is\s*:)|^[ \t*#>-]*(?:the\s+|final\s+)?answer\s*:|"
    r"\bsolution\s+is\s*:?|答案\s*(?:是|为|：|:)|答\s*[：:])",
    re.IGNORECASE | re.MULTILINE,
)
_HASH = re.compile(r"####\s*([^\n]*)")
_NUMBER = re.compile(
    r"-?\\frac\{\d+\}\{\d+\}|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+"
)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|\n")
# words that follow "the answer is" without giving one
_NOT_AN_ANSWER = re.compile(
    r"^(?:correct|incorrect|wrong|right|not\b|that\b|because|as follows|below|above|given|"
    r"clear|obvious|simply|therefore|thus|indeed|found|shown|the same|\?|:|$)",
    re.IGNORECASE,
)
_CONNECTIVE = re.compile(
    r"^(?:\s|\$|,|;|\\quad|\\qquad|\\text\{\s*(?:or|and|,)\s*\}|\bor\b|\band\b|"
    r"[a-zA-Z]\s*=|\\\(|\\\)|\\\[|\\\])*$"
)
_UNIT_TAIL = re.compile(
    r"^(?!(?:and|or|but|which|because|since|so|as|if|is|for|to|in|of|that|the)\b)"
    r"[A-Za-z%°]+(?: [A-Za-z]+)?$"
)
_CHOICE_STATEMENT = re.compile(
    r"\b(?:choice|option)\s*[$(]*\s*(?:\\(?:mathrm|mathbf|textbf|text)\s*\{)?\s*([A-J])\s*\}?[$)]*"
    r"\s+is\s+(?:the\s+)?"
    r"(?:correct|right|best|answer)\b",
    re.IGNORECASE,
)
# 故选 D / 故选: $\mathrm{C}$ / 答案选B: the Chinese "so the choice is"
_CHOICE_STATEMENT_ZH = re.compile(
    r"(?:故选|应选|答案选|所以选|因此选|选)\s*[:：]?\s*\$?\s*(?:\\(?:mathrm|mathbf|text)\s*\{)?\s*([A-J])(?![A-Za-z])"
)
_CHOICE_LETTER = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
_CHOICE_IN_TEXT = re.compile(
    r"(?:\(([A-J])\)|\b(?:choice|option)\s+\(?([A-J])\)?|\b([A-J])\b(?=[.):]?\s*$))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer a completion commits to (None: no answer) and the rule that found it."""

    answer: str | None
    rule: str  # boxed | final_answer | answer_is | hash | choice | last_number | none
    start: int = -1  # offset of the commitment in the completion
    truncated: bool = False  # cut off (finish_reason "length") before committing
    broken: bool = False  # the commitment is an unclosed \boxed{: malformed, never graded


def _boxed_spans(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, content, closed) of every \\boxed{...}/\\fbox{...}, braces nested; a bare
    `\\boxed 5` takes the next token. An unclosed box keeps its broken content."""
    spans = []
    matches: dict[int, int] | None = None
    for m in _BOXED.finditer(text):
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            if matches is None:
                matches = brace_matches(text)
            group = unwrap_braced(text, i, matches)
            if group is not None:
                spans.append((m.start(), group[1], group[0].strip(), True))
            else:  # an unclosed box is a broken commitment, not a reason to look elsewhere
                broken = re.match(r"[^$\n]{0,200}", text[i + 1 : i + 201])
                spans.append(
                    (m.start(), len(text), (broken.group(0) if broken else "").strip(), False)
                )
        else:
            tok = re.match(r"[^\s$]+", text[i : i + 100])
            if tok:
                spans.append((m.start(), i + tok.end(), tok.group(0).rstrip(".,"), True))
    return spans


def _last_boxed_group(text: str) -> tuple[int, str, bool] | None:
    """The last boxed answer; adjacent boxes joined only by 'and'/'or'/commas form one list
    ('x=\\boxed{2} or x=\\boxed{3}' -> '2, 3'): a hedge against a single gold, a full list
    against a multi-valued one."""
    spans = _boxed_spans(text)
    if not spans:
        return None
    group = [spans[-1]]
    for prev in reversed(spans[:-1]):
        if prev[1] > group[0][0]:
            break  # a box around the later one (\boxed{\boxed{1}}): not a separate answer
        between = text[prev[1] : group[0][0]]
        if len(between) > 40 or not _CONNECTIVE.match(between):
            break
        group.insert(0, prev)
    contents = [c for _, _, c, _ in group]
    closed = all(ok for *_, ok in group)
    return group[0][0], ", ".join(contents) if len(contents) > 1 else contents[0], closed


def boxed_answer(text: str) -> str | None:
    """The answer of the last \\boxed{} group (adjacent boxes joined by "and"/"or"/commas
    form one list: "$\\boxed{3}$ or $\\boxed{\\frac25}$" -> "3, \\frac25"), or None."""
    group = _last_boxed_group(text)
    return group[1] if group is not None else None


def _phrase_span(text: str, pos: int) -> str | None:
    """The answer that follows a phrase ending at `pos`: a math span, or up to the sentence end."""
    rest = text[pos : pos + MAX_SPAN + 8].lstrip(" \t:*")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    if not rest:
        return None
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if rest.startswith(left):
            end = _find_unescaped(rest, right, len(left))
            if end > len(left):
                span = rest[len(left) : end]
                tail = rest[end + len(right) :]
                m = re.match(r"[^\n.]{0,40}", tail)
                more = (m.group(0) if m else "").strip()
                if "$" in more:  # "$x=2$ or $x=3$": the whole sentence is the answer
                    return _cut_sentence(rest)
                if _UNIT_TAIL.match(more):  # "$5$ dollars", "$12$ cm"
                    return (span + " " + more).strip()
                return span.strip() or None
    return _cut_sentence(rest)


def _find_unescaped(text: str, token: str, start: int) -> int:
    i = text.find(token, start)
    while i > 0 and text[i - 1] == "\\":
        i = text.find(token, i + 1)
    return i


def _cut_sentence(rest: str) -> str | None:
    m = _SENTENCE_END.search(rest)
    span = rest[: m.start()] if m else rest[:MAX_SPAN]
    span = span.strip().rstrip(".,;:!")
    return span or None


def _phrase_candidates(text: str) -> list[tuple[int, str, str]]:
    found = []
    finals: list[tuple[int, int]] = []
    for rule, pattern in (("final_answer", _FINAL), ("answer_is", _ANSWER)):
        for m in pattern.finditer(text):
            if rule == "final_answer":
                finals.append((m.start(), m.end()))
            elif any(a <= m.start() < b for a, b in finals):
                continue  # the "answer is" inside "final answer is"
            span = _phrase_span(text, m.end())
            if span is None or _NOT_AN_ANSWER.match(span):
                continue
            found.append((m.start(), rule, span))
    for m in _HASH.finditer(text):
        span = m.group(1).strip().rstrip(".")
        if span:
            found.append((m.start(), "hash", span))
    return found


def _looks_like_answer(span: str) -> bool:
    return bool(re.search(r"[\d\\$]", span)) or len(span) <= 3


def extract(
    completion: str,
    *,
    choices: Mapping[str, str] | None = None,
    finish_reason: str | None = None,
) -> Extraction:
    """Find the answer a completion commits to. Never raises."""
    text = completion if isinstance(completion, str) else ""
    if not text.strip():
        return Extraction(None, "none")
    candidates: list[tuple[int, str, str]] = []
    broken_at = -1
    if choices:  # "Choice D is correct." commits, wherever it stands
        for pattern in (_CHOICE_STATEMENT, _CHOICE_STATEMENT_ZH):
            candidates.extend((m.start(), "choice", m.group(1).upper()) for m in pattern.finditer(text))
    boxed = _last_boxed_group(text)
    if boxed is not None:
        candidates.append((boxed[0], "boxed", boxed[1]))
        if not boxed[2]:
            broken_at = boxed[0]
    for start, rule, span in _phrase_candidates(text):
        if "\\boxed" in span or "\\fbox" in span:
            continue  # the box inside the phrase is already a candidate
        if boxed is not None and start > boxed[0] and not _looks_like_answer(span):
            continue  # "... \boxed{5}. The answer is reasonable."
        candidates.append((start, rule, span))
    if candidates:
        start, rule, answer = max(candidates, key=lambda c: c[0])
        if start == broken_at and rule == "boxed":
            # "\boxed{5" never closed: cut off mid-answer (5 may have become 50) or malformed
            return Extraction(answer, rule, start, truncated=finish_reason == "length", broken=True)
        if choices:
            letter = choice_letter(answer, choices)
            if letter is not None:
                return Extraction(letter, rule, start)
        return Extraction(answer, rule, start)
    if finish_reason == "length":
        return Extraction(None, "none", truncated=True)
    if choices:
        tail = text.strip()[-200:]
        m = _last_match(_CHOICE_IN_TEXT, tail)
        if m is not None:
            letter = (m.group(1) or m.group(2) or m.group(3)).upper()
            if letter in {k.upper() for k in choices}:
                return Extraction(letter, "choice", len(text) - len(tail) + m.start())
    last = _last_match(_NUMBER, text)
    if last is not None:
        return Extraction(last.group(0), "last_number", last.start())
    return Extraction(None, "none")


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - keep the final match
        pass
    return last


def choice_letter(answer: str, choices: Mapping[str, str]) -> str | None:
    """'(B)', 'B.', 'b' -> 'B' when B is one of the choices."""
    m = _CHOICE_LETTER.match(normalize(answer).text)
    if m is None:
        return None
    letter = m.group(1).upper()
    return letter if letter in {k.upper() for k in choices} else None
