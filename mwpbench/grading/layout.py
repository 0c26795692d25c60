"""Where things are in a completion: the part that answers, code, math spans, sentences.

Extraction reads a completion through this layout. `clean` maps full-width characters to
ASCII and blanks markup that is never an answer, keeping every offset; `cut_continuation`
drops a model's continuation into a new question or turn; `blank_code` hides program text
(its output blocks stay); `math_spans` finds `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]`
(a `$` before a number in prose is a dollar sign); `sentences` splits the rest outside math.

Every function is one linear pass over the text: completions are hostile input.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

# full-width ASCII (Ｄ，１２：（３，４）) and the ideographic space -> ASCII, one char for one
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# markup that carries no answer: GaokaoBench's end-of-explanation tag, GSM8K calculator notes
_BLANKED = re.compile(r"<eoe>|<<[^<>\n]{0,200}>>")

# A new question or turn after the model's answer (few-shot continuations, chat turns,
# end-of-sequence tokens followed by more text). Only a marker after some answer content
# cuts: a completion that opens by restating "Question: ..." keeps its answer.
_CONTINUATION = re.compile(
    r"^[ \t>*#]*(?:Q|Question|Problem|Human|User|Instruction|问题|题目)[ \t]*\**[ \t]*[:：]"
    r"|^[ \t]*#{2,}[ \t]*(?:Instruction|Input|Problem|Question)\b"
    r"|<\|im_start\|>|<\|user\|>|<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|</s>|<eoa>|\[INST\]",
    re.IGNORECASE | re.MULTILINE,
)
_CONTENT = re.compile(
    r"\d|answer\s*(?:is|:)|答|选|\$|\\\(|\\\[|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|twenty|thirty|forty|fifty|hundred)\b",
    re.IGNORECASE,
)

_ASY = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*$", re.MULTILINE)
_OUTPUT_INFO = {"output", "text", "stdout", "result", ""}
_CODE_HINT = re.compile(
    r"\bprint\(|^\s*(?:def|import|from|for|while|return)\b|^\s*\w+\s*=\s*\S", re.M
)

_MATH_TOKEN = re.compile(
    r"\\\\|\\\$|\$\$|\$|\\\(|\\\)|\\\[|\\\]"
    r"|\\(?:begin|end)\{(?:align|equation|eqnarray|gather|multline)\*?\}"
)
_TEXT_GROUP = re.compile(r"\\(?:text|textbf|mathrm|mbox|textrm)\s*\{[^{}]*\}")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")

_SENTENCE_END = re.compile(
    r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!approx)"
    r"[.!?](?=[\s*\"']|$)|(?<=[.!?])\)+(?=\s|$)|。|\n"
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def clean(text: str) -> str:
    """Full-width characters to ASCII; non-answer markup blanked. Offsets are kept."""
    text = text.translate(_FULLWIDTH)
    if "<" in text:
        text = _BLANKED.sub(lambda m: " " * len(m.group(0)), text)
    return text


def cut_continuation(text: str) -> str:
    """The completion up to the first new question or turn that follows answer content."""
    first = _CONTENT.search(text)
    if first is None:
        return text
    m = _CONTINUATION.search(text, first.end())
    return text if m is None else text[: m.start()]


def blank_code(text: str) -> str:
    """Program text in fenced blocks replaced by spaces (offsets kept); output blocks kept.

    A block is output when its info string says so (```output) or, without one, when it holds
    no code. An unclosed code block is blanked to the end. Asymptote figures ([asy]...[/asy])
    are code too."""
    if "[asy]" in text:
        text = _ASY.sub(lambda m: _blank(m.group(0)), text)
    if "```" not in text:
        return text
    out: list[str] = []
    pos = 0
    fences = list(_FENCE.finditer(text))
    i = 0
    while i < len(fences):
        opening = fences[i]
        closing = fences[i + 1] if i + 1 < len(fences) else None
        end = closing.end() if closing is not None else len(text)
        body = text[opening.end() : closing.start() if closing is not None else len(text)]
        info = opening.group(1).lower()
        is_output = info in _OUTPUT_INFO and not (info == "" and _CODE_HINT.search(body))
        out.append(text[pos : opening.start()])
        if is_output:  # the fences go, the printed result stays
            out.append(" " * (opening.end() - opening.start()))
            out.append(body)
            if closing is not None:
                out.append(" " * (closing.end() - closing.start()))
        else:
            out.append(_blank(text[opening.start() : end]))
        pos = end
        i += 2
    out.append(text[pos:])
    return "".join(out)


def _blank(s: str) -> str:
    return re.sub(r"[^\n]", " ", s)


@dataclass(frozen=True, slots=True)
class MathSpan:
    """A math span: `start`/`end` include the delimiters, `inner` is what they enclose."""

    start: int
    end: int
    inner: str


def math_spans(text: str) -> list[MathSpan]:
    """Every closed math span, in order. A `$` is a dollar sign rather than a delimiter when
    the would-be span runs over a blank line, its closing `$` is followed by a digit
    ("$12 and $5"), or it opens on a digit and holds prose ("$12. The answer is $x$")."""
    spans: list[MathSpan] = []
    open_at = -1
    kind = ""
    for m in _MATH_TOKEN.finditer(text):
        tok = m.group(0)
        if tok in ("\\\\", "\\$"):
            continue
        if tok.startswith("\\begin"):
            tok = "\\begin"  # a display environment outside $...$ (MATH solutions)
        elif tok.startswith("\\end"):
            tok = "\\end"
        if open_at < 0:
            if tok in ("$$", "$", "\\(", "\\[", "\\begin"):
                open_at, kind = m.start(), tok
        elif kind == "$" and tok in ("$", "$$"):
            inner = text[open_at + 1 : m.start()]
            if tok == "$$" and text[open_at + 1 : open_at + 2].isdigit():
                open_at, kind = m.start(), "$$"  # "$5 ... $$x$$": a dollar, then display math
            elif not _inline_ok(text, open_at, inner, m.start() + 1):
                open_at = m.start()  # the earlier `$` was a dollar sign; this one may open
            else:
                spans.append(MathSpan(open_at, m.start() + 1, inner))
                open_at = m.start() + 1 if tok == "$$" else -1  # "$x$$y$": the second opens
        elif tok == _CLOSER[kind]:
            inner_start = text.index("}", open_at) + 1 if kind == "\\begin" else open_at + len(kind)
            spans.append(MathSpan(open_at, m.end(), text[inner_start : m.start()]))
            open_at = -1
        elif tok == kind and kind in ("\\(", "\\[", "\\begin"):
            open_at = m.start()  # an opener inside an open span: the earlier one was stray
    return spans


_CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]", "\\begin": "\\end"}


def _inline_ok(text: str, open_at: int, inner: str, after: int) -> bool:
    if not inner.strip() or "\n\n" in inner:
        return False
    if after < len(text) and text[after].isdigit():
        return False
    opens_on_digit = open_at + 1 < len(text) and text[open_at + 1].isdigit()
    return not (opens_on_digit and _PROSE_WORD.search(_TEXT_GROUP.sub(" ", inner)))


class SpanIndex:
    """Math spans of one text, looked up by offset; found on first use (a completion whose
    answer is its last box never needs them)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._spans: list[MathSpan] | None = None
        self._starts: list[int] = []

    @property
    def spans(self) -> list[MathSpan]:
        if self._spans is None:
            self._spans = math_spans(self._text)
            self._starts = [s.start for s in self._spans]
        return self._spans

    def at(self, pos: int) -> MathSpan | None:
        """The span containing offset `pos` (delimiters included), if any."""
        spans = self.spans
        i = bisect_right(self._starts, pos) - 1
        return spans[i] if i >= 0 and pos < spans[i].end else None

    def starting_at(self, pos: int) -> MathSpan | None:
        spans = self.spans
        i = bisect_right(self._starts, pos) - 1
        return spans[i] if i >= 0 and spans[i].start == pos else None

    def within(self, start: int, end: int) -> list[MathSpan]:
        """Spans that lie wholly inside [start, end)."""
        spans = self.spans
        i = bisect_right(self._starts, start - 1)
        out = []
        while i < len(spans) and spans[i].start < end:
            if spans[i].end <= end:
                out.append(spans[i])
            i += 1
        return out


def sentence_end(text: str, pos: int, index: SpanIndex, limit: int) -> int:
    """Offset of the end of the sentence that starts at `pos` (math spans are never cut),
    at most `limit` characters on."""
    stop = min(len(text), pos + limit)
    i = pos
    while i < stop:
        m = _SENTENCE_END.search(text, i, stop)
        if m is None:
            return stop
        span = index.at(m.start())
        if span is not None:
            i = span.end
        elif m.group(0).startswith(")"):
            return m.end()  # "(... was unnecessary.)": the parenthesis closes the sentence
        elif m.group(0) == "." and _list_number(text, m.start()):
            i = m.end()  # "2. She gives ...": a numbered item, not a sentence end
        else:
            return m.start()
    return stop


def _list_number(text: str, dot: int) -> bool:
    """Whether the '.' at `dot` ends a list number at the start of a line ("12. ")."""
    k = dot
    while k > 0 and dot - k < 3 and text[k - 1].isdigit():
        k -= 1
    while k > 0 and dot - k < 6 and text[k - 1] in " \t":
        k -= 1
    return k < dot and text[k:dot].strip().isdigit() and (k == 0 or text[k - 1] == "\n")


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    paragraph_start: bool  # the first sentence after a blank line (or of the text)


def sentences(text: str, index: SpanIndex) -> Iterator[Sentence]:
    """The sentences of `text` in order, math spans kept whole."""
    paragraphs = [m.end() for m in _PARAGRAPH.finditer(text)]
    p = 0
    pos = 0
    new_paragraph = True
    while pos < len(text):
        end = sentence_end(text, pos, index, len(text) - pos)
        while p < len(paragraphs) and paragraphs[p] <= pos:
            new_paragraph = True
            p += 1
        if text[pos:end].strip():
            yield Sentence(pos, end, new_paragraph)
            new_paragraph = False
        pos = end + 1
