"""Completion -> the answer it commits to, and which rule found it.

The ladder (DESIGN.md, README "Extraction"). First the completion is laid out (layout.py):
full-width characters read as ASCII, a continuation into a new question or turn is cut off,
program text is hidden (its printed output stays). Then the commitments: the last
\\boxed{}/\\fbox{} group, "final answer is", "the answer is"/"Answer:"/【答案】/答案是, a
`####` line, and a choice statement ("option B is correct", 故选B) -- the LAST commitment in
the text wins, so a completion that corrects itself counts its final answer. A commitment
that states a sentence is reduced to its quantity (answer_span.py). An empty commitment
(`\\boxed{}`, `####`, "the answer is" at the very end) is no answer: it never falls back.

Without a commitment: nothing for a truncated completion (finish_reason "length"); a choice
letter at the end when the task has options; else the last sentence that is not an aside
("Note: ...", "(...)", "Let me verify: ...") and holds a quantity -- a closing statement
("Therefore, the total cost is $42.") is read like an answer line (`closing`), any other
sentence gives its last complete expression (`last_expression` for math, `last_number`).

All scanning is linear in the completion's length; nothing here can raise on model text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from mwpbench.grading.answer_span import (
    last_quantity,
    last_side,
    reduce_sentence,
    reduce_span,
    stated_value,
)
from mwpbench.grading.layout import (
    SpanIndex,
    blank_code,
    clean,
    cut_continuation,
    math_spans,
    sentence_end,
    sentences,
)
from mwpbench.grading.normalize import brace_matches, normalize, unwrap_braced

MAX_SPAN = 400  # longest answer taken from an "answer is" phrase
MAX_SENTENCE = 2_000  # characters of a closing sentence that are read

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_FINAL = re.compile(
    r"final\s+answer\s*(?:\*\*)?\s*(?:is\b(?:\s*:)?|:|=)"
    r"|^[ \t>#*]*(?:the\s+)?final\s+answer[ \t*:]*$",
    re.IGNORECASE | re.MULTILINE,
)
# "answer:" commits only at the start of a line ("We may check our answer: ..." does not)
_ANSWER = re.compile(
    r"\b(?:correct\s+|right\s+|best\s+)?answer(?:\s*\([^()\n]{0,40}\))?"
    r"(?:\s+to\s+(?:this|the)\s+(?:question|problem))?"
    r"\s*(?:is|should\s+be|would\s+be|will\s+be|must\s+be|=)(?:\s*:)?"
    r"(?:\s+(?:therefore|thus|then|clearly|simply|just|indeed|actually|probably|likely|now)\b)?"
    r"|^[ \t*#>-]*(?:the\s+|final\s+|correct\s+)?answer[ \t*]*:"
    r"|^[ \t>#*]*answer[ \t*]*$"
    r"|\bsolution\s+is\s*:?"
    r"|【\s*答案\s*】\s*:?|答案\s*(?:是|为|:)\s*:?|^[ \t]*答\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# "the answer is in dollars: ...", "the answer is to ...": a place or a purpose, no quantity
_PLACE = re.compile(r"(?:in|to|at|on|for|of|with)\b[^\d$\\,:]*(?:[:,]|$)", re.IGNORECASE)
_HASH = re.compile(r"(?<!#)####(?!#)[ \t]*([^\n]*)")
_HEADING = re.compile(r"[A-Za-z]{3,}")
# words that follow "the answer is" without giving one
_NOT_AN_ANSWER = re.compile(
    r"^(?:correct|incorrect|wrong|right|not\b|that\b|because|as follows|below|above|given|"
    r"clear|obvious|found|shown|the same|reasonable|different|similar|unchanged|\?)",
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
_LETTER = r"[$(\s]*(?:\\(?:mathrm|mathbf|textbf|text)\s*\{)?\s*\(?([A-J])\)?(?![A-Za-z])"
_CHOICE_STATEMENT = re.compile(
    r"(?i:\b(?:choice|option|answer)\s*)" + _LETTER + r"\}?[$)]*(?i:\s+is\s+(?:the\s+)?"
    r"(?:correct|right|best|answer)\b)"
    r"|(?i:\b(?:correct|right|best)\s+(?:choice|option)\s+is\s*:?\s*(?:option\s+)?\**)"
    + _LETTER
    + r"|(?i:\b(?:choose|select|pick|go\s+with)\s+(?:option\s+|choice\s+|answer\s+)?)"
    + _LETTER
)
# 故选 D / 故选: $\mathrm{C}$ / 答案选B / 所以选(D): the Chinese "so the choice is"
_CHOICE_STATEMENT_ZH = re.compile(
    r"(?:故选|应选|答案选|所以选|因此选|选项?)\s*:?\s*\$?\s*(?:\\(?:mathrm|mathbf|text)\s*\{)?\s*\(?"
    r"([A-J])(?![A-Za-z])"
)
_CHOICE_WORDS = re.compile(r"choice|option|answer|choose|select|pick|go with")
_CHOICE_ALONE = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
_CHOICE_WITH_TEXT = re.compile(
    r"^(?:(?i:option|choice)\s*\(?([A-J])\)?(?:\s*[.:)]?\s.*|[.:)].*)?|\(([A-J])\)\s*.+|"
    r"([A-J])\s*[.:)]\s*.+)$",
    re.DOTALL,
)
_CHOICE_IN_TEXT = re.compile(
    r"(?:\(([A-J])\)|\b(?:choice|option)\s+\(?([A-J])\)?|\b([A-J])\b(?=[.):]?\s*$))",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^(?:\s*+(?:[>*#\-+•]++|\d{1,2}[.)](?=\s))\s*+)*+")  # no backtracking
_CLOSING = re.compile(
    r"(?:therefore|thus|so|hence|in total|in all|altogether|overall|in conclusion|finally|"
    r"as a result|this means|that means|consequently|all in all|in summary|to sum up|"
    r"all together)\b|所以|因此|故|综上|从而|于是",
    re.IGNORECASE,
)
_CLOSING_CLAUSE = re.compile(
    r"[,;]\s*(?:so|therefore|thus|hence)\b|[,;]?\s*(?:所以|因此|故|即|解得|可得|求得|从而|于是)",
    re.IGNORECASE,
)
# sentences that are remarks, not statements of the result: one sentence ("Note that ...",
# "(...)") or, for a check, the rest of its paragraph ("Let me verify: ...")
_ASIDE_START = re.compile(
    r"(?:note|notice|remember|keep in mind|hint|tip|alternatively|if you|assuming|"
    r"this assumes|i hope|hope this|let me know|feel free)\b|\(|注",
    re.IGNORECASE,
)
_CHECK_START = re.compile(
    r"(?:check|checking|verification|verify|double[- ]check|let'?s (?:verify|check|double[- ]check)|"
    r"let me (?:verify|check|double[- ]check)|to (?:verify|check)|we can (?:verify|check)|"
    r"as a check|explanation|key takeaways?)\b|检验|验证",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer a completion commits to (None: no answer) and the rule that found it."""

    answer: str | None
    # boxed | final_answer | answer_is | hash | choice | closing | last_expression |
    # last_number | none
    rule: str
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
            if matches is None:  # from the first box on: the text before it is prose
                matches = brace_matches(text, m.start())
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


def _last_boxed_group(text: str) -> tuple[int, str, bool, int] | None:
    """The last boxed answer (start, content, closed, end); adjacent boxes joined only by 'and'/'or'/commas form one list
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
    content = ", ".join(contents) if len(contents) > 1 else contents[0]
    return group[0][0], content, closed, group[-1][1]


def boxed_answer(text: str) -> str | None:
    """The answer of the last \\boxed{} group (adjacent boxes joined by "and"/"or"/commas
    form one list: "$\\boxed{3}$ or $\\boxed{\\frac25}$" -> "3, \\frac25"), or None."""
    group = _last_boxed_group(text)
    return group[1] if group is not None else None


def _phrase_span(text: str, pos: int, index: SpanIndex) -> str | None:
    """What follows a commitment phrase ending at `pos`: a math span (with a unit word), or
    the rest of the sentence; '' when the text ends there; None when it is no answer."""
    i = pos
    while i < len(text) and text[i] in " \t:*":
        i += 1
    if i < len(text) and text[i] == "\n":  # "Answer:\n42"
        while i < len(text) and text[i].isspace():
            i += 1
    if i >= len(text):
        return ""
    span = index.starting_at(i)
    if span is not None:
        end = sentence_end(text, span.end, index, 60)
        more = text[span.end : end].strip()
        if index.within(span.end, end) or "\\boxed" in more:  # "$x=2$ or $x=3$"
            return text[i : sentence_end(text, i, index, MAX_SPAN)].strip()
        if _UNIT_TAIL.match(more):  # "$5$ dollars", "$12$ cm"
            return (span.inner.strip() + " " + more).strip()
        return span.inner.strip() or None
    end = sentence_end(text, i, index, MAX_SPAN)
    raw = text[i:end].strip()
    if not raw.strip(" .*") and end >= len(text.rstrip()):
        return ""
    if not raw or _NOT_AN_ANSWER.match(raw) or _PLACE.match(raw):
        return None  # "the answer is correct", "the answer is in dollars"
    return raw


def _phrase_candidates(text: str, low: str) -> list[tuple[int, int, str]]:
    """(start, end, rule) of every commitment phrase (`low`: the text lower-cased)."""
    if "answer" not in low and "solution" not in low and "答" not in text:
        return []  # the common case of a boxed answer: no phrase to look for
    finals = [(m.start(), m.end()) for m in _FINAL.finditer(text)] if "final" in low else []
    found = [(a, b, "final_answer") for a, b in finals]
    k = 0
    for m in _ANSWER.finditer(text):  # both in text order: one linear merge
        while k < len(finals) and finals[k][1] <= m.start():
            k += 1
        if not (k < len(finals) and finals[k][0] <= m.start()):  # not "final answer is"'s
            found.append((m.start(), m.end(), "answer_is"))
    return found


def _same(value: str) -> str:
    return value


def _hash_span(m: re.Match[str]) -> str | None:
    span = m.group(1).strip().rstrip(".")
    if _HEADING.match(span) and _WORDS_START.match(span) is None:
        return None  # a markdown heading ("#### Step 2: Total"), not an answer line
    return span


_WORDS_START = re.compile(
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred)\b",
    re.IGNORECASE,
)


def _looks_like_answer(span: str) -> bool:
    return bool(re.search(r"[\d\\$]", span)) or len(span) <= 3


def _wordy(answer: str) -> bool:
    """Prose without any quantity: 'that we need more information' is not an answer."""
    return not re.search(r"\d", answer) and len(re.findall(r"[A-Za-z]{2,}", answer)) > 4


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
    text = blank_code(cut_continuation(clean(text)))
    index = SpanIndex(text)
    found = _commitment(text, index, choices)
    if found is not None:
        return found
    if finish_reason == "length":
        return Extraction(None, "none", truncated=True)
    if choices:
        tail = text.rstrip()[-200:]
        m = _last_match(_CHOICE_IN_TEXT, tail)
        if m is not None:
            letter = (m.group(1) or m.group(2) or m.group(3)).upper()
            if letter in {k.upper() for k in choices}:
                return Extraction(letter, "choice", len(text.rstrip()) - len(tail) + m.start())
    return _fallback(text, index)


def _commitment(
    text: str, index: SpanIndex, choices: Mapping[str, str] | None
) -> Extraction | None:
    """The last commitment in the text, or None when there is none."""
    # (start, rule, read): `read` gives the committed text, or None when it is no answer
    candidates: list[tuple[int, str, Callable[[], str | None]]] = []
    low = text.lower()
    patterns = [_CHOICE_STATEMENT] if _CHOICE_WORDS.search(low) else []
    if "选" in text:
        patterns.append(_CHOICE_STATEMENT_ZH)
    options = {k.upper() for k in choices} if choices else None
    for pattern in patterns:
        for m in pattern.finditer(text):
            letter = next(g for g in m.groups() if g).upper()
            if options is None or letter in options:
                candidates.append((m.start(), "choice", partial(_same, letter)))
    boxed = _last_boxed_group(text)
    if boxed is not None:
        candidates.append((boxed[0], "boxed", partial(_same, boxed[1])))
    for start, end, rule in _phrase_candidates(text, low):
        candidates.append((start, rule, partial(_phrase_span, text, end, index)))
    if "####" in text:
        candidates.extend(
            (m.start(), "hash", partial(_hash_span, m)) for m in _HASH.finditer(text)
        )
    candidates.sort(key=lambda c: c[0])
    for start, rule, read in reversed(candidates):
        raw = read()
        if rule == "choice":
            return Extraction(raw, rule, start)
        if rule == "boxed" and boxed is not None:
            if not boxed[2]:
                # "\boxed{5" never closed: cut off mid-answer (5 may become 50) or malformed
                return Extraction(boxed[1], rule, start, broken=True)
            return _resolved(boxed[1], rule, start, choices, boxed=True)
        if raw is None or "\\boxed" in raw or "\\fbox" in raw:
            continue  # not an answer; a box inside the phrase is its own candidate
        if boxed is not None and boxed[0] < start < boxed[3]:
            continue  # "\boxed{Solution is: x=2}": the phrase is part of the boxed answer
        if boxed is not None and start > boxed[0] and not _looks_like_answer(raw):
            continue  # "... \boxed{5}. The answer is reasonable."
        if raw == "" and rule != "hash":
            return Extraction(None, rule, start, truncated=True)  # "... the answer is" <end>
        result = _resolved(raw, rule, start, choices)
        if result.answer is not None and _wordy(result.answer):
            continue
        return result
    return None


def _resolved(
    raw: str, rule: str, start: int, choices: Mapping[str, str] | None, *, boxed: bool = False
) -> Extraction:
    if choices:
        letter = choice_letter(raw, choices)
        if letter is not None:
            return Extraction(letter, rule, start)
    if boxed:
        return Extraction(last_side(raw), rule, start)
    return Extraction(reduce_span(raw), rule, start)


def _fallback(text: str, index: SpanIndex) -> Extraction:
    """The last sentence that is no aside and holds a quantity (see the module doc)."""
    found = list(sentences(text, index))
    asides = []
    in_check = False
    for s in found:
        body = _LIST_MARK.sub("", text[s.start : s.end]).lstrip("*_ ")
        if s.paragraph_start:
            in_check = False
        if _CHECK_START.match(body):
            in_check = True
        elif _CLOSING.match(body):
            in_check = False
        asides.append(in_check or bool(_ASIDE_START.match(body)))
    for s, aside in zip(reversed(found), reversed(asides), strict=True):
        if aside:
            continue
        got = _from_sentence(text, s.start, s.end)
        if got is not None:
            return got
    for s in reversed(found):  # only asides hold numbers: the last one still answers
        got = _from_sentence(text, s.start, s.end)
        if got is not None:
            return got
    return Extraction(None, "none")


def _from_sentence(text: str, start: int, end: int) -> Extraction | None:
    start = max(start, end - MAX_SENTENCE)
    body = text[start:end]
    lead = len(body) - len(_LIST_MARK.sub("", body))
    body = body[lead:]
    spans = math_spans(body)
    if _is_closing(body.lstrip("*_ ")):
        reduced = reduce_sentence(body, spans)
        if reduced:
            return Extraction(stated_value(reduced, body), "closing", start + lead)
    last = last_quantity(body, spans)
    if last is None:
        return None
    answer = stated_value(last[0], body) if last[1] else last[0]
    return Extraction(answer, "last_expression" if last[1] else "last_number", start + lead)


def _is_closing(body: str) -> bool:
    """A sentence that opens with "Therefore"/"So"/所以 or has a ", so ..." clause, with a
    quantity after that word (a dangling "..., so" is not a closing statement)."""
    m = _CLOSING.match(body) or _last_match(_CLOSING_CLAUSE, body)
    return m is not None and last_quantity(body[m.end() :]) is not None


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - keep the final match
        pass
    return last


def choice_letter(answer: str, choices: Mapping[str, str], *, with_text: bool = True) -> str | None:
    """'(B)', 'B.', 'b' -> 'B' when B is one of the choices; with `with_text` (a model's
    answer) also '(B) 12', 'B. 12', 'option B', '\\textbf{(B)}': a letter with its option's
    text counts as the letter, whatever the text."""
    text = normalize(answer).text
    m = _CHOICE_ALONE.match(text) or (_CHOICE_WITH_TEXT.match(text) if with_text else None)
    if m is None:
        return None
    letter = next(g for g in m.groups() if g).upper()
    return letter if letter in {k.upper() for k in choices} else None
