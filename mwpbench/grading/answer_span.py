"""A committed span or a closing sentence -> the answer it states.

A model's answer line is often a sentence: "Tom will need 7 boxes", "she has $12 left after
spending $8", "三角形的面积为 $6$". `reduce_span` keeps what it commits to:

- one math expression, a list ("1, 2, and 3") or a hedge ("5 or 6") is kept as written;
- an equation chain answers with its last side (`14 + 6 + 5 = 25` -> 25, `last_side`) unless
  it is a genuine equation (`y = 2x + 1`, `x = 3`, `3x + 2 = 11` stay whole);
- number words are numbers ("twelve", "Four buses", "three hundred forty");
- prose (`reduce_sentence`): the last clause after "so / therefore / which means / 解得"
  that holds a quantity; in it a computed result ("6+8+16=30") first, else the first
  quantity after the LAST linking verb (is, are, be, =, 是, 为: "the remainder when $2^{10}$
  is divided by $7$ is $2$") or after the FIRST other verb (has, needs, costs, will, ...),
  else the first quantity that follows no preposition ("in 4 weeks"). Conditions ("when
  $x = 4$"), reasons ("because ..."), comparisons ("which is 4 more ...") and parenthesised
  remarks are skipped; quantities joined by "and"/"," form a list, by "or" a hedge.

A unit that changes scale stays with a plain number ("5 cm"); a counted noun does not.
Pure string work, linear in the text's length, never raises on model text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mwpbench.grading.layout import MathSpan, math_spans
from mwpbench.grading.normalize import UNITS
from mwpbench.grading.parse import parse_number_words
from mwpbench.grading.quantities import chinese_counts_to_digits

_W = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|thousand|million|billion"
)
_WORDS = re.compile(
    rf"\b(?:{_W})(?:(?:[ \t]*-[ \t]*|[ \t]+(?:and[ \t]+)?)(?:{_W}))*\b", re.IGNORECASE
)
# "one" that is a pronoun, not a count: "the correct one", "one of them", "no one"
_PRONOUN_ONE = re.compile(
    r"(?:\b(?:the|this|that|each|every|no|any|which|another|other|some|a)\s+one\b|"
    r"\bone\s+(?:of|another|by|step|at|more time)\b)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.\\^])(?:[-−](?=\s*(?:\\?\$\s*)?\d))?(?:\\?\$\s*)?"
    r"(?:\d{1,3}(?:,\d{3})+(?![\d])|\d{1,3}(?:[ \u00a0\u2009\u202f]\d{3})+(?!\d)(?![.,]\d)|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?"
    r"(?:\s*(?:\\?%|percent\b))?"
)
_ORDINAL_TAIL = re.compile(r"(?:st|nd|rd|th)\b|[:]\d", re.IGNORECASE)
_MATHY = re.compile(r"\d|\\pi|\\infty|\\sqrt|\\frac|∞|π")
# the gap between two quantities of one arithmetic chain
_OPERATOR_GAP = re.compile(
    r"^\s*(?:[-+−*/×÷=·]|x|\\times|\\cdot|\\div|times|plus|minus|divided by|multiplied by|"
    r"equals|is equal to)\s*$",
    re.IGNORECASE,
)
_EQUALS_GAP = re.compile(r"=|equals|is equal to", re.IGNORECASE)
# the gap between two members of a list or hedge (after an optional unit word)
_CONNECTOR_GAP = re.compile(r"^\s*(?:,\s*(?:and|or)?|and|or|、|或|和)\s*$")
# linking verbs: the quantity after the LAST one in a clause is what it states ("the
# remainder when $2^{10}$ is divided by $7$ is $2$")
_COPULA = re.compile(
    r"\b(?:is|are|was|were|be|been|equals?|equaled)\b|(?<![<>!=])=(?!=)|(?<![但于])是|(?<!因)为|等于",
    re.IGNORECASE,
)
# other verbs that bind a subject to a quantity: the quantity after the FIRST one counts
_VERB = re.compile(
    r"\b(?:totals?|totaled|has|have|had|gets?|got|needs?|needed|costs?|makes?|made|earns?|"
    r"earned|spends?|spent|pays?|paid|saves?|saved|takes?|took|contains?|holds?|weighs?|"
    r"sells?|sold|buys?|bought|receives?|received|owes?|uses?|used|collects?|collected|"
    r"gives?|gave|reads?|runs?|ran|walks?|walked|drives?|drove|travels?|traveled|covers?|"
    r"eats?|ate|bakes?|baked|picks?|picked|scores?|scored|wins?|won|loses?|lost|"
    r"will|would|can|could|should|must|comes?\s+to|amounts?\s+to|adds?\s+up\s+to|"
    r"works?\s+out\s+to|ends?\s+up\s+with|remains?)\b"
    r"|(?<![所没])有|需要|一共|共",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"\b(?:when|if|where|whenever|given|assuming|for)\s*$", re.IGNORECASE)
_COPULA_BEFORE = re.compile(r"(?:\b(?:is|are|was|were|be|equals)|是|为|等于)[\s:]*$", re.IGNORECASE)
_EQUATION_WORD = re.compile(
    r"\b(?:line|lines|equation|plane|circle|curve|parabola|ellipse|hyperbola|graph|tangent|"
    r"asymptote|locus)\b|方程|直线|曲线|切线|圆",
    re.IGNORECASE,
)
_NAMED = re.compile(r"^\d*\s*\\?[A-Za-z](?:_\{?\w+\}?)?$")
# a quantity right after a preposition is a circumstance ("in 4 weeks"), not the answer
_PREPOSITION = re.compile(
    r"\b(?:in|after|for|within|over|at|on|by|of|per|from|with|every|each|than|about)\s*$",
    re.IGNORECASE,
)
# a reason or a relative clause after the stated quantity adds nothing to it
_REASON = re.compile(
    r"(?:,\s*|\s+)(?:because|since)\b|[,;]\s*(?:not counting|assuming)\b|"
    r"[,;]\s*which\s+(?:is|are|was|were)\s+(?=[^,.;]*\b(?:more|less|fewer|times|half|twice|than|of)\b)",
    re.IGNORECASE,
)
_CLAUSE = re.compile(
    r"[,;:]\s*(?:so|therefore|thus|hence|which means|meaning|i\.e\.?|that is)\b|"
    r"[,;]?\s*which\s+(?:implies|gives|means|yields|leads to|"
    r"(?:is|are|was|were)\b(?![^,.;]*\b(?:more|less|fewer|times|half|twice|than|of)\b))|"
    r"\b(?:we get|we find|we obtain|gives|yields)\b|"
    r"[,;]?\s*(?:所以|因此|故|即|解得|可得|求得|得到|从而|于是)",
    re.IGNORECASE,
)
_ASIDE = re.compile(
    r"\([^()]*(?:(?<![\\A-Za-z])[A-Za-z]{3,}|[\u4e00-\u9fff])[^()]*\)|(?<=[A-Za-z] )\(\s*-?\d+(?:\.\d+)?\s*\)"
)
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}|[\u4e00-\u9fff]+")
_CONNECTIVES = {"and", "or"}
_UNIT_AFTER = re.compile(r"\s*((?:square |sq |cubic )?[A-Za-z%°]+(?:\^\{?[23]\}?)?)\b")
_NOT_UNITS = {"", "in", "s", "t", "h"}  # after a number in prose these are words, not units
_CJK_UNIT_AFTER = re.compile(r"\s*[\u4e00-\u9fff]{1,3}")
_EMPHASIS = re.compile(r"\*\*|__")
_TRAILING = re.compile(r"[\s.,;:!。，；：*]+$")
_ALIGNED = re.compile(r"\\(?:begin|end)\{(?:aligned|align\*?|eqnarray\*?|gathered|split)\}")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox|operatorname)\s*\{[^{}]*\}")
_NON_VARIABLE = re.compile(
    r"\\(?:d?t?frac|sqrt|times|cdot|div|left|right|pi|circ|cdots|ldots|quad|qquad|"
    r"displaystyle|approx|choose|sin|cos|tan|cot|sec|csc|log|ln|exp|binom|d?t?binom|lfloor|rfloor|"
    r"lceil|rceil|big|Big|%|\$|,|!|;)(?![A-Za-z])|\^\\circ|[%$°]"
)
_MATRIX = re.compile(r"\\begin\{(?:[pbBvV]?matrix|smallmatrix|array)\}")
_TERM_LABEL = re.compile(r"[A-Za-z]_\{?\d+\}?")  # a sequence term or a numbered quantity
_NUMBERED_SYMBOL = re.compile(r"[A-Za-z]_\{?\d+\}?(?:\^\{?\d+\}?)?")
_TIMES_X = re.compile(r"(?<=\d)\s*x\s*(?=\d)")
_SPACING = re.compile(r"\\(?:q?quad|[,;:! ])(?![A-Za-z])")
_IMPLIES = re.compile(r"\\(?:Rightarrow|implies|Longrightarrow|iff|therefore)(?![A-Za-z])")
_REL = re.compile(r"<|>|\\(?:le|ge|lt|gt|neq?|leq|geq|leqslant|geqslant)(?![A-Za-z])|≤|≥|≠")
_APPROX = re.compile(r"\\approx|≈|\\sim(?![a-z])")
_LIST_SEP = re.compile(
    r",(?!(?:\\!)?\d{3}(?:\D|$))|;|\bor\b|\band\b|\\text\{\s*(?:or|and)\s*\}|或|\\quad"
)
_LABEL = re.compile(
    r"^(?:\\?[A-Za-z]+(?:(?:\s+\\?|\\)[A-Za-z]+)*|\\angle\s*\w+|\|[A-Za-z ]+\|)"
    r"(?:_\{[^{}]*\}|_\w)?(?:\^\{?\\?prime\}?|')?(?:\([^()]*\))?$"
)
_CONSTANT = re.compile(r"\\(?:pi|infty)|e|i")
_OPEN = "([{"
_CLOSE = ")]}"


@dataclass(frozen=True, slots=True)
class Quantity:
    """One quantity in a sentence: where it is and how it reads as an answer."""

    start: int
    end: int
    text: str  # as an answer: digits, LaTeX, a number word turned into digits
    math: bool = False  # read from a math span
    reduced: bool = False  # a math span whose '=' chain was cut to its last side


def reduce_span(span: str) -> str:
    """The answer a committed span states ('' for an empty commitment)."""
    s = _TRAILING.sub("", _EMPHASIS.sub("", span)).strip().strip("*").strip()
    if not s:
        return ""
    s = chinese_counts_to_digits(s)
    spans = math_spans(s)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(s):
        return last_side(spans[0].inner.strip())
    if _is_prose(s, spans):
        reduced = reduce_sentence(s, spans)
        if reduced is not None:
            return reduced
        return _dollars(s)
    return last_side(_dollars(_words_to_digits(_drop_asides(s, spans))))


def reduce_sentence(s: str, spans: list[MathSpan] | None = None) -> str | None:
    """The quantity a prose sentence commits to (see the module doc), or None."""
    if spans is None:
        spans = math_spans(s)
    skel = _skeleton(s, spans)
    starts = [0] + [m.end() for m in _CLAUSE.finditer(skel)]
    bounds = list(zip(starts, [*starts[1:], len(s)], strict=True))
    quantities = _quantities(s, skel, spans)
    for lo, hi in reversed(bounds):
        inside = [q for q in quantities if lo <= q.start and q.end <= hi]
        if not inside:
            continue
        reason = _REASON.search(skel, lo, hi)
        if reason is not None and any(q.end <= reason.start() for q in inside):
            hi = reason.start()  # "16 because 4 * 4 = 16", "12 apples, which is 4 more"
            inside = [q for q in inside if q.end <= hi]
        stated = [q for q in inside if not _CONDITION.search(skel, max(lo, q.start - 16), q.start)]
        inside = stated or inside  # "when $x = 4$, $y = 7$": the condition is not stated
        groups = _groups(s, inside)
        computed = {(q.start, q.end) for q in _computed(s, inside)}
        with_result = [g for g in groups if any((q.start, q.end) in computed for q in g)]
        chosen = with_result[-1] if with_result else _choose(s, skel, groups, lo, hi)
        before = max(lo, chosen[0].start - 16)
        if (
            len(chosen) == 1
            and chosen[0].math
            and _COPULA_BEFORE.search(skel, before, chosen[0].start)
        ):
            value = _named_value(chosen[0].text)
            return value + _unit_after(s, chosen[0].end, value)
        return _group_text(s, chosen)
    return None


def _computed(s: str, quantities: list[Quantity]) -> list[Quantity]:
    """The results of computations in a clause: arithmetic chains with '=' in prose
    ('6+8+16=30 ounces') and math spans whose '=' chain was reduced ('$2/4=\\frac12$')."""
    out = []
    for chain in _chains(s, quantities):
        if len(chain) > 1 and any(
            _EQUALS_GAP.search(s[a.end : b.start]) for a, b in zip(chain, chain[1:], strict=False)
        ):
            out.append(_chain_last(s, chain))
        elif len(chain) == 1 and chain[0].math and chain[0].reduced:
            out.append(chain[0])
    return out


def stated_value(expr: str, sentence: str) -> str:
    """In a sentence without a commitment, `x = 5`, `f(2) = 1`, `A+B+C = 112` state the
    value on the right; an equation the sentence names as one (a line, a curve, 方程) or one
    with powers (`x^2 = 4`) stays whole."""
    parts = _split_top(expr, re.compile(r"(?<![<>:\\])=(?!=)"))
    if len(parts) != 2 or _EQUATION_WORD.search(sentence):
        return expr
    lhs, rhs = parts[0].strip(), parts[1].strip()
    named = "^" not in lhs and re.search(r"[A-Za-z]", _NON_VARIABLE.sub("", lhs)) is not None
    return rhs if named and _is_arithmetic(rhs) else expr


def _named_value(expr: str) -> str:
    """'2c = 4' after "is" (焦距为 $2c=4$) states 4; an equation in several unknowns
    ('3x - y = 0') or with a non-numeric side stays whole."""
    parts = _split_top(expr, re.compile(r"(?<![<>:\\])=(?!=)"))
    if len(parts) == 2 and _NAMED.match(parts[0].strip()) and _is_arithmetic(parts[1]):
        return parts[1].strip()
    return expr


def _choose(s: str, skel: str, groups: list[list[Quantity]], lo: int, hi: int) -> list[Quantity]:
    """The group a clause commits to: after its last linking verb or its first other verb
    (else the last one before that verb); without a verb, the first one that does not follow
    a preposition."""
    copulas = list(_COPULA.finditer(skel, lo, hi))
    verb = copulas[-1] if copulas else _VERB.search(skel, lo, hi)
    if verb is not None:
        after = [g for g in groups if g[-1].end > verb.end()]
        if after:
            return after[0]
        before = [g for g in groups if g[-1].end <= verb.start()]
        return before[-1] if before else groups[-1]
    for g in groups:
        if not _PREPOSITION.search(skel, max(lo, g[0].start - 16), g[0].start):
            return g
    return groups[0]


def last_quantity(s: str, spans: list[MathSpan] | None = None) -> tuple[str, bool] | None:
    """The last quantity of a sentence (an arithmetic chain counts as its last side) and
    whether it came from a math span."""
    if spans is None:
        spans = math_spans(s)
    skel = _skeleton(s, spans)
    quantities = _quantities(s, skel, spans)
    if not quantities:
        return None
    chain = _chains(s, quantities)[-1]
    return _chain_text(s, chain, unit=True), any(q.math for q in chain)


def last_side(expr: str) -> str:
    """An equation chain -> its last side (`2 - \\frac17 = \\frac{13}{7}` -> `\\frac{13}{7}`,
    `x = 2 + 3 = 5` -> `5`); a genuine equation (`y = 2x + 1`, `x = 3`), an inequality, a
    list, or an expression without `=` is returned as is. `A \\approx B` keeps the exact A."""
    s = expr.strip()
    if "=" not in s and not _APPROX.search(s):
        return s
    if _ALIGNED.search(s):
        s = _ALIGNED.sub(" ", s)
    if "\\\\" in s and "&" in s and not _MATRIX.search(s):  # aligned rows: the last row
        rows = [_SPACING.sub(" ", r.replace("&", " ")).strip() for r in s.split("\\\\")]
        rows = [r for r in rows if r.strip(" .,")]
        if rows and not rows[-1].lstrip().startswith("="):
            s = rows[-1]
        else:
            s = " ".join(" ".join(rows).split())
    s = _IMPLIES.split(s)[-1].strip() if _IMPLIES.search(s) else s
    s = s.rstrip(" .,;")
    if _top_level(s, _LIST_SEP) or _top_level(s, _REL):
        return s
    approx = _split_top(s, _APPROX)
    if len(approx) > 1:
        head = approx[0].strip()
        s = head if head and not _LABEL.match(head.split("=")[-1].strip() or "x") else approx[-1]
        s = s.strip()
    parts = [p.strip() for p in _split_top(s, re.compile(r"(?<![<>:\\])=(?!=)"))]
    if len(parts) >= 2 and not parts[0] and all(parts[1:]):
        return parts[-1]  # "&= 7": the value a derivation ends on
    if len(parts) < 2 or not all(parts):
        return s
    if len(parts) == 2 and _TERM_LABEL.fullmatch(parts[0]):
        return s  # "a_{5} = 9", "y_{2} = x": a labelled value (a_{5} is not a_{6})
    if _LABEL.match(parts[-1]) and not _CONSTANT.fullmatch(parts[-1]):
        # "18 = x": a value written first; "2x = y": an equation
        return parts[0] if len(parts) == 2 and _is_arithmetic(parts[0]) else s
    if len(parts) >= 3 or _is_arithmetic(parts[0]):
        return parts[-1]
    return s


def _is_arithmetic(side: str) -> bool:
    """A side with numbers and operators only (units, \\text{} and numbered symbols such as
    `C_{5}^{2}` or `a_{4}` allowed), no free variable."""
    s = _TEXT_CMD.sub(" ", side)
    s = _NUMBERED_SYMBOL.sub(" 1 ", s)
    s = _NON_VARIABLE.sub(" ", s)
    s = _TIMES_X.sub("*", s)
    return bool(re.search(r"\d", s)) and not re.search(r"[A-Za-z]", s)


def _top_level(s: str, pattern: re.Pattern[str]) -> bool:
    return len(_split_top(s, pattern)) > 1


def _split_top(s: str, pattern: re.Pattern[str]) -> list[str]:
    """Split `s` at matches of `pattern` outside brackets, braces and angle brackets."""
    masked = s.replace("\\langle", "(      ").replace("\\rangle", "      )")
    depth = [0] * (len(s) + 1)
    d = 0
    for i, c in enumerate(masked):
        if c in _CLOSE:
            d = max(d - 1, 0)
        depth[i] = d
        if c in _OPEN:
            d += 1
    parts, last = [], 0
    for m in pattern.finditer(s):
        if depth[m.start()] == 0 and m.start() > 0:
            parts.append(s[last : m.start()])
            last = m.end()
    parts.append(s[last:])
    return parts


def _skeleton(s: str, spans: list[MathSpan]) -> str:
    """`s` with math spans and parenthesised asides blanked (offsets kept)."""
    chars = list(s)
    for span in spans:
        for i in range(span.start, span.end):
            chars[i] = "§"
    skel = "".join(chars)
    return _ASIDE.sub(lambda m: " " * len(m.group(0)), skel)


def _quantities(s: str, skel: str, spans: list[MathSpan]) -> list[Quantity]:
    """Numbers, number words and math expressions outside asides, in order."""
    found: list[Quantity] = []
    for m in _NUMBER.finditer(skel):
        if _ORDINAL_TAIL.match(skel, m.end()) or (
            m.end() < len(skel)
            and (skel[m.end()].isalpha() and skel[m.end()].isascii())
            and not _unit_at(skel, m.end())
        ):
            continue
        found.append(Quantity(m.start(), m.end(), _dollars(m.group(0).strip())))
    for m in _WORDS.finditer(skel if not found and not _has_math(skel, spans) else ""):
        if m.group(0).lower() == "one" and _PRONOUN_ONE.search(
            skel, max(0, m.start() - 10), m.end() + 12
        ):
            continue
        value = parse_number_words(m.group(0))
        if value is not None:
            found.append(Quantity(m.start(), m.end(), str(value)))
    for span in spans:
        if skel[span.start] == "§" and _MATHY.search(span.inner):
            inner = span.inner.strip()
            side = last_side(inner)
            found.append(Quantity(span.start, span.end, side, True, side != inner.rstrip(" .,;")))
    found.sort(key=lambda q: q.start)
    return found


def _has_math(skel: str, spans: list[MathSpan]) -> bool:
    return any(skel[span.start] == "§" and _MATHY.search(span.inner) for span in spans)


def _unit_at(s: str, pos: int) -> bool:
    m = re.match(r"[A-Za-z]+", s[pos : pos + 20])
    return m is not None and m.group(0).lower() in UNITS


def _chains(s: str, quantities: list[Quantity]) -> list[list[Quantity]]:
    chains: list[list[Quantity]] = []
    for q in quantities:
        if chains and _OPERATOR_GAP.match(s[chains[-1][-1].end : q.start]):
            chains[-1].append(q)
        else:
            chains.append([q])
    return chains


def _groups(s: str, quantities: list[Quantity]) -> list[list[Quantity]]:
    """Chains, then chains joined by list connectors: each group is one stated answer."""
    groups: list[list[Quantity]] = []
    for chain in _chains(s, quantities):
        value = _chain_last(s, chain)
        if groups and _is_connector(s[groups[-1][-1].end : chain[0].start]):
            groups[-1].append(value)
        else:
            groups.append([value])
    return groups


def _is_connector(gap: str) -> bool:
    """', ', ' and ', ' or ', also after a counted noun ('15 red marbles and 25') or a unit
    ('5 cm, 7 cm')."""
    if _CONNECTOR_GAP.match(gap):
        return True
    m = _NOUNS_GAP.match(gap)
    if m is not None and not any(w.lower() in _NOT_NOUNS for w in m.group(1).split()):
        return True
    m = _UNIT_GAP.match(gap)
    return m is not None and (
        m.group(1).lower() in UNITS or m.group(1).lower().rstrip("s") in UNITS
    )


_NOUNS_GAP = re.compile(r"^\s*((?:[A-Za-z]+\s+)?[A-Za-z]+)(?:\s*,\s*|\s+)(?:and|or)\s*$")
_UNIT_GAP = re.compile(r"^\s*([A-Za-z]+)\s*,\s*(?:and\s*|or\s*)?$")
# words after a number that end its noun phrase ("12 left and ...", "5 more than ...")
_NOT_NOUNS = {
    "left", "more", "less", "fewer", "remaining", "total", "each", "now", "in", "of", "for",
    "per", "than", "is", "are", "was", "were", "to", "at", "on", "by", "from", "with",
    "after", "before", "then", "so", "but", "which", "that", "and", "or",
}  # fmt: skip


def _chain_last(s: str, chain: list[Quantity]) -> Quantity:
    """A chain as one Quantity: the part after its last '=' (or all of it)."""
    cut = 0
    for i in range(1, len(chain)):
        if _EQUALS_GAP.search(s[chain[i - 1].end : chain[i].start]):
            cut = i
    tail = chain[cut:]
    if len(tail) == 1:
        return tail[0]
    text = s[tail[0].start : tail[-1].end]
    return Quantity(tail[0].start, tail[-1].end, _dollars(text))


def _chain_text(s: str, chain: list[Quantity], *, unit: bool) -> str:
    q = _chain_last(s, chain)
    return q.text + (_unit_after(s, q.end, q.text) if unit else "")


def _group_text(s: str, group: list[Quantity]) -> str:
    if len(group) == 1:
        return group[0].text + _unit_after(s, group[0].end, group[0].text)
    gaps = [s[a.end : b.start] for a, b in zip(group, group[1:], strict=False)]
    joiner = " or " if any(re.search(r"\bor\b|或", g) for g in gaps) else ", "
    return joiner.join(q.text for q in group)


def _unit_after(s: str, pos: int, value: str) -> str:
    """A unit that changes a plain number's scale, kept with it ('5 cm'); a counted noun is
    not ('7 boxes'), nor a unit after an expression ('$4\\pi$ inches')."""
    if not _PLAIN_NUMBER.match(value):
        return ""
    m = _UNIT_AFTER.match(s, pos)
    if m is not None:
        word = m.group(1).lower()
        if word not in _NOT_UNITS and (word in UNITS or word.rstrip("s") in UNITS):
            return " " + m.group(1)
    m = _CJK_UNIT_AFTER.match(s, pos)
    return " " + m.group(0).strip() if m else ""


_PLAIN_NUMBER = re.compile(r"^[-−\\$\d.,/ %]+$")


def _dollars(s: str) -> str:
    """A `$` before a number in prose is a dollar sign: write it `\\$` for the normalizer."""
    return re.sub(r"(?<!\\)\$(?=\s*\d)", r"\\$", s) if "$" in s and not math_spans(s) else s


def _is_prose(s: str, spans: list[MathSpan]) -> bool:
    """Words beyond numbers, units, connectives, LaTeX commands and a counted noun after a
    number ("12 apples", "7 boxes", "12个")."""
    skel = _skeleton(s, spans)
    quantities = _quantities(s, skel, spans)
    if not quantities:
        return False
    ends = {q.end for q in quantities}
    words = _LATEX_COMMAND.sub(lambda m: " " * len(m.group(0)), skel)
    for m in _PROSE_WORD.finditer(words):
        word = m.group(0).lower()
        if word in _CONNECTIVES or word in UNITS or _WORDS.fullmatch(word):
            continue
        before = len(s[: m.start()].rstrip())
        if (
            before in ends
            and word not in _FUNCTION_WORDS
            and not (word[0] >= "\u4e00" and len(word) > 3)
        ):
            continue  # the noun right after a number (a short measure word in Chinese)
        if any(q.start <= m.start() < q.end for q in quantities):
            continue
        return True
    return False


_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?(?:\s*\{[^{}]*\})?")
_FUNCTION_WORDS = {
    "because", "since", "which", "that", "when", "if", "for", "in", "on", "at", "to", "of",
    "from", "with", "is", "are", "was", "were", "after", "before", "per", "each", "more",
    "less", "than", "so", "but", "as", "the", "it", "this", "will", "would",
}  # fmt: skip


def _drop_asides(s: str, spans: list[MathSpan]) -> str:
    """`s` without its parenthesised remarks ("3 trips (the last one carries 60 kg)")."""
    skel = _skeleton(s, spans)
    if skel.count(" ") == s.count(" "):
        return s
    kept = "".join(c for c, k in zip(s, skel, strict=True) if not (k == " " and c != " "))
    return " ".join(kept.split())


def _words_to_digits(s: str) -> str:
    """Number words -> digits, when the span has no digits of its own ('Four buses')."""
    if re.search(r"\d", s) or not _WORDS.search(s):
        return s
    out, pos = [], 0
    for m in _WORDS.finditer(s):
        value = parse_number_words(m.group(0))
        out.append(s[pos : m.start()])
        out.append(str(value) if value is not None else m.group(0))
        pos = m.end()
    out.append(s[pos:])
    return "".join(out)
