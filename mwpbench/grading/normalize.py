"""Answer text -> canonical text plus what was peeled off (unit, percent, degrees, currency).

Pure string work with linear-time regexes: safe on hostile model output of any length.
The canonical text is what the fast string-equality path compares and what `parse` reads.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from mwpbench.grading.quantities import is_scale_word, names_something_else, read_quantity
from mwpbench.grading.units import UNITS, canonical_unit

__all__ = [
    "UNITS", "Normalized", "brace_matches", "normalize", "squeeze", "strip_envelope",
    "structural_key", "unwrap_braced",
]  # fmt: skip

# ---------------------------------------------------------------- characters

# Formatting characters: zero-width marks vanish, every kind of space is a space, every
# dash used as a sign is a minus (so "5–10" reads as 5 - 10: an answer is never a range),
# and full-width ASCII (Chinese exam text) is ASCII.
_CHAR_TABLE: dict[int, str | None] = {
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"), None),
    **dict.fromkeys(map(ord, "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"), " "),
    **dict.fromkeys(map(ord, "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe63"), "-"),
    **{c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
    ord("÷"): "\\div ", ord("⋅"): "\\cdot ", ord("∪"): "\\cup ", ord("∩"): "\\cap ",
    ord("∅"): "\\emptyset ", ord("≠"): "\\neq ", ord("±"): "\\pm ", ord("∓"): "\\mp ",
    ord("∈"): "\\in ", ord("ℝ"): "\\mathbb{R}", ord("≤"): "\\leq ", ord("≥"): "\\geq ",
    ord("×"): "\\times ", ord("π"): "\\pi ", ord("∞"): "\\infty ", ord("√"): "\\sqrt",
    ord("⩽"): "\\leq ", ord("⩾"): "\\geq ", ord("′"): "'", ord("″"): "''",
    ord("、"): ", ", ord("⁄"): "/",
}  # fmt: skip
_SUPERSCRIPT = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_SUPERSCRIPT_TABLE = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5),
           "⅖": (2, 5), "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8),
           "⅜": (3, 8), "⅝": (5, 8), "⅞": (7, 8)}  # fmt: skip
_VULGAR_RE = re.compile("[" + "".join(_VULGAR) + "]")

# ---------------------------------------------------------------- LaTeX

# LaTeX spacing and sizing commands that never change a value: `\left.`/`\right.` (an
# invisible delimiter), `\left`, `\bigl(`, `\Big)`, `\middle|` lose the command word;
# spacing commands become a space (`\,` between digit groups is then a grouped thousand);
# `\!` (a negative space, `11,\!111`) vanishes.
_INVISIBLE = re.compile(r"\\(?:left|right)\s*\.")
_DROP = re.compile(
    r"(?<!\\)\\(?:left|right|middle|(?:big|Big|bigg|Bigg)[lrm]?|displaystyle|textstyle|"
    r"scriptstyle|scriptscriptstyle|!)(?![a-zA-Z])"
)
_SPACING = re.compile(
    r"(?<!\\)\\(?:,|;|:| |q?quad|space|enspace|thinspace|medspace|thickspace)(?![a-zA-Z])"
)
_DELIMS = {"\\lvert": "|", "\\rvert": "|", "\\vert": "|", "\\lVert": "\\|", "\\rVert": "\\|",
           "\\Vert": "\\|", "\\lbrace": "\\{", "\\rbrace": "\\}", "\\lbrack": "[", "\\rbrack": "]"}  # fmt: skip
_DELIM_RE = re.compile(
    r"\\(?:lvert|rvert|vert|lVert|rVert|Vert|lbrace|rbrace|lbrack|rbrack)(?![a-zA-Z])"
)
_TEXT_CMD = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname|textnormal)\s*\{"
)
# upright constants: \mathrm{i} is the imaginary unit and \mathrm{e} Euler's number, never a unit
_UPRIGHT_CONST = re.compile(
    r"\\(?:mathrm|text|textrm|mathit|operatorname|mbox)\s*\{\s*([ie])\s*\}|\\(?:imath|mathrm\s*i)(?![a-zA-Z])"
)
# function names written as text are the functions: \operatorname{gcd}(4,6) is \gcd(4,6)
_NAMED_FUNCTION = re.compile(
    r"\\(?:operatorname|mathrm|text|textrm)\s*\{\s*(gcd|lcm|sin|cos|tan|cot|sec|csc|arcsin|"
    r"arccos|arctan|arccot|sinh|cosh|tanh|ln|log|exp|max|min)\s*\}(?=\s*[(\\{\w])"
)  # followed by an argument: "5 \\mathrm{min}" is five minutes
# degrees, minutes and seconds of arc: 63^{\\circ} 45^{\\prime} 10^{\\prime\\prime} = 63.7528°
_ARC = r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime|'"
_ARC2 = r"\^\s*\{\s*\\prime\s*\\prime\s*\}|\^\s*\{\s*\\prime\s*\}\s*\^\s*\{\s*\\prime\s*\}|''|\""
_DMS = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°)\s*(\d+(?:\.\d+)?)\s*(?:"
    + _ARC
    + r")"
    r"(?:\s*(\d+(?:\.\d+)?)\s*(?:" + _ARC2 + r"))?"
)
_LG = re.compile(r"\\lg(?![a-zA-Z])")  # lg is the common (base-10) logarithm
_BOXED_BARE = re.compile(r"^\\(?:boxed|fbox)(?![a-zA-Z])\s*(?!\{)")
_OVER = re.compile(r"\{([^{}]*)\\over(?![a-zA-Z])([^{}]*)\}")
_POW_COMMAND = re.compile(r"\^\s*(\\(?:frac|sqrt|binom)\s*\{[^{}]*\}(?:\{[^{}]*\})?)")
_DEG = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\{\s*\}\s*\\circ|\^\s*\\circ|\\circ|°|\\degree")
_TRIG_DEG = re.compile(
    r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z]).*?(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°)"
)
_TRIG_DEG_VALUE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°)")
_PERCENT = re.compile(r"\\%|%|％")
_DOLLAR_SIGN = re.compile(r"\\\$|[£€¥￥₹]|\\(?:pounds|euro|yen)(?![a-zA-Z])")
_CENT_SIGN = re.compile(r"(?<=\d)\s*¢")
_FONT = re.compile(r"\\(?:rm|bf|it|sf|tt)(?![a-zA-Z])")
_APPROX = re.compile(
    r"^\s*(?:\\approx|\\sim|≈|~|约|大约|(?:about|approximately|approx\.?|roughly|around|nearly)"
    r"(?=\s*[\d$\\.+-]))\s*",
    re.IGNORECASE,
)
_CJK_LABEL = re.compile(r"^([\u4e00-\u9fff]{1,10})(?:为|是|等于)\s*(?=[^\u4e00-\u9fff\s])")
_UNIT_GROUP = r"\\(?:mathrm|text|textrm|mbox)\s*\{[^{}]*\}(?:\s*\^\s*\{?\s*[23]\s*\}?)?"
_LATEX_UNIT = re.compile(
    r"^(?P<body>.*?[\d}.])\s*(?P<unit>"
    + _UNIT_GROUP
    + r"(?:\s*(?:/|\\cdot|-|\s)\s*"
    + _UNIT_GROUP
    + r")*)\s*$"
)
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\[[^\[\]{}]*\])?\s*(\d|[a-zA-Z](?![a-zA-Z]))")

# ---------------------------------------------------------------- digit groups

# Thousands separators are formatting (DESIGN.md). A grouping is a first group of 1-3
# digits without a leading zero, then groups of exactly three digits, all with the same
# separator: "," (no space after it), a space (any Unicode space, `~`, `\,`, `\ `), `{,}`
# or `,\!`. Anything else is not one number: "1, 000" and "(1, 000)" are two items (a comma
# followed by a space separates items), "2 3" and "12 34" are two numbers side by side,
# "0,125" is a list. `{,}` before one, two or four-plus digits is a decimal comma (3{,}14).
_THOUSANDS = re.compile(r"^[+-]?(?:[1-9]\d{0,2}(?:,\d{3})+|0)(?:\.\d+)?$")
_SPACE_THOUSANDS = re.compile(r"(?<![\w.^,])([1-9]\d{0,2})((?: \d{3})+)(?!\d)(?! \d)(?!\s*/)")
_BRACE_COMMA_THOUSANDS = re.compile(r"(?<=\d)\{,\}(?=\d{3}(?!\d))")
_BRACE_COMMA_DECIMAL = re.compile(r"(?<=\d)\{,\}(?=\d)")
_BRACED_THOUSANDS = re.compile(r"(?<=\{)[1-9]\d{0,2}(?:,\d{3})+(?=\})")
# ---------------------------------------------------------------- trailing words

_DANGLING = re.compile(r"\s+(?:or|and)$")
_TRAILING_PUNCT = re.compile(r"[\s.;:,。．，]+$")
MAX_NORMALIZE = 20_000  # characters of an answer that are normalized
_MAX_LAYERS = 8  # nested envelopes ($\\boxed{$...$}$) peeled at most
_ENVELOPE = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical answer text and the markers peeled off it."""

    text: str
    unit: str | None = None  # a key of UNITS, or another word that followed the number
    raw: str = ""


def brace_matches(text: str, start: int = 0) -> dict[int, int]:
    """Index of the matching '}' for every '{' that has one (escaped braces skipped), in one
    linear pass: looking groups up here keeps hostile texts (20,000 unclosed `\\boxed{`)
    linear where scanning from each opening brace would be quadratic. Braces before `start`
    (not a character a backslash escapes) cannot change the matches of those after it."""
    matches: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_OR_ESCAPE.finditer(text, start):  # only the characters that matter
        c = m[0]
        if c == "{":
            stack.append(m.start())
        elif c == "}":
            if stack:
                matches[stack.pop()] = m.start()
    return matches


_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)  # a backslash escapes the next character


def unwrap_braced(
    text: str, start: int, matches: dict[int, int] | None = None
) -> tuple[str, int] | None:
    """Content of the brace group opening at text[start] == '{' and the index after it
    (None when it never closes). Pass `brace_matches(text)` when looking up many groups."""
    end = (matches if matches is not None else brace_matches(text)).get(start)
    return None if end is None else (text[start + 1 : end], end + 1)


def _unwrap_commands(text: str, pattern: re.Pattern[str]) -> str:
    """Replace `\\cmd{content}` by `content` for every match of `pattern` (ending at '{')."""
    out: list[str] = []
    pos = 0
    matches: dict[int, int] | None = None
    while True:
        m = pattern.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        if matches is None:
            matches = brace_matches(text)
        group = unwrap_braced(text, m.end() - 1, matches)
        if group is None:  # unbalanced: drop the command word, keep the rest
            out.append(text[pos : m.start()])
            pos = m.end()
            continue
        content, end = group
        out.append(text[pos : m.start()])
        out.append(content)
        pos = end


def strip_envelope(text: str) -> str:
    """Remove math delimiters, a whole-answer \\boxed{...}, and surrounding whitespace."""
    s = text.strip()
    changed = True
    layers = 0
    while changed and s and layers < _MAX_LAYERS:
        changed = False
        layers += 1
        for left, right in _ENVELOPE:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                inner = s[len(left) : len(s) - len(right)]
                if left == "$" and "$" in inner:
                    continue  # "$a$ and $b$": two spans, not one
                s = inner.strip()
                changed = True
        for cmd in ("\\boxed", "\\fbox"):
            if s.startswith(cmd):
                rest = s[len(cmd) :].lstrip()
                if rest.startswith("{"):
                    group = unwrap_braced(rest, 0)
                    if group is not None and group[1] == len(rest):
                        s = group[0].strip()
                        changed = True
                elif (m := _BOXED_BARE.match(s)) is not None and s[m.end() :].strip():
                    s = s[m.end() :].strip()  # "\boxed 5": TeX boxes the next token
                    changed = True
    return s


_FRAC_ARG = re.compile(r"\s*(\\[a-zA-Z]+|[0-9a-zA-Z])")
_TWO_ARG = re.compile(r"\\(?:frac|binom)(?![a-zA-Z])")


def brace_frac_args(s: str) -> str:
    """`\\frac1{2x}`, `\\frac{\\sqrt6}3`, `\\frac \\pi4`, `\\binom52` -> every argument of
    \\frac and \\binom braced (TeX takes one token for an argument without braces)."""
    out: list[str] = []
    pos = 0
    matches = brace_matches(s)
    while (m := _TWO_ARG.search(s, pos)) is not None:
        j = m.end()
        out.append(s[pos:j])
        args = []
        for _ in range(2):
            while j < len(s) and s[j] == " ":
                j += 1
            if j < len(s) and s[j] == "{":
                group = unwrap_braced(s, j, matches)
                if group is None:
                    break
                args.append("{" + group[0] + "}")
                j = group[1]
            else:
                arg = _FRAC_ARG.match(s, j)
                if arg is None:
                    break
                args.append("{" + arg.group(1) + "}")
                j = arg.end()
        out.append("".join(args))
        pos = j
    out.append(s[pos:])
    return "".join(out)


def clean_characters(s: str) -> str:
    """Unicode formatting -> ASCII/LaTeX: zero-width marks, spaces, dashes, full-width
    forms, superscript digits (x² -> x^{2}), vulgar fractions (1½ -> 1\\frac{1}{2})."""
    if s.isascii():
        return s
    s = s.translate(_CHAR_TABLE)
    if _SUPERSCRIPT.search(s):
        s = _SUPERSCRIPT.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPT_TABLE) + "}", s)
    if _VULGAR_RE.search(s):
        s = _VULGAR_RE.sub(lambda m: "\\frac{{{}}}{{{}}}".format(*_VULGAR[m.group(0)]), s)
    return s


def _group_digits(s: str) -> str:
    """Digit groups -> one number: "1 000 000", "1{,}000", "{1,000}"; "3{,}14" -> 3.14."""
    if "{,}" in s:
        s = _BRACE_COMMA_THOUSANDS.sub("", s)
        s = _BRACE_COMMA_DECIMAL.sub(".", s)
    if "{" in s:
        s = _BRACED_THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), s)
    if " " in s:
        s = _SPACE_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(" ", ""), s)
    return s


def _latex_forms(s: str) -> str:
    """One spelling per LaTeX construct that answers write several ways."""
    if "\\" not in s:
        return s
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    if "\\left" in s or "\\right" in s:
        s = _INVISIBLE.sub("", s)
    s = _DROP.sub("", s)
    s = _SPACING.sub(" ", s)
    if "\\l" in s or "\\r" in s or "\\v" in s or "\\V" in s:
        s = _DELIM_RE.sub(lambda m: _DELIMS[m.group(0)], s)
    s = _FONT.sub(" ", s)
    s = _UPRIGHT_CONST.sub(lambda m: m.group(1) or "i", s)
    s = _NAMED_FUNCTION.sub(r"\\\1", s)
    s = _LG.sub(r"\\log_{10}", s)
    if "\\over" in s:
        s = _OVER.sub(r"\\frac{\1}{\2}", s)
    return s


def normalize(text: str) -> Normalized:
    """Canonicalize one answer (gold or extracted prediction)."""
    if len(text) <= _CACHED_LENGTH:
        return _normalize_cached(text)
    return _normalize(text)


_CACHED_LENGTH = 256  # answers this short are remembered: golds repeat, and "12", "\\frac{1}{2}"


@functools.lru_cache(maxsize=8192)
def _normalize_cached(text: str) -> Normalized:
    return _normalize(text)


def _normalize(text: str) -> Normalized:
    raw = text
    if len(text) > MAX_NORMALIZE:  # no answer is this long: compared as it stands
        return Normalized(text=" ".join(text.split()), unit=None, raw=raw)
    s = strip_envelope(clean_characters(text))
    s = _latex_forms(s)
    s = s.replace("\\&", " and ")
    s = _APPROX.sub("", s)
    if not s.isascii():
        s = s.replace("或", " or ").replace("和", " and ")
        s = _CJK_LABEL.sub(r"\1=", s)  # 最大值为3: "the maximum is 3" labels its value
    latex_unit = None
    latex = "\\" in s
    if latex and (m := _LATEX_UNIT.match(s)) is not None:
        words = _TEXT_CMD.sub("", m.group("unit")).replace("}", "").replace("~", " ")
        if not names_something_else(words):  # "\\text{ or more}" is not a unit
            s, latex_unit = m.group("body"), words
    if latex:
        s = _unwrap_commands(s, _TEXT_CMD)
    s = s.replace("~", " ")
    s = s.replace("$", " ") if "\\$" not in s else s
    s = s.replace("\\le ", "\\leq ").replace("\\ge ", "\\geq ")
    if "#" in s:  # "\frac{3}{10} \#\# 0.3": two spellings of one value
        s = re.split(r"\\?#\s*\\?#", s, maxsplit=1)[0].strip()
    if "\\sqrt" in s:
        s = _SQRT_SHORT.sub(lambda m: "\\sqrt" + (m.group(1) or "") + "{" + m.group(2) + "}", s)
    if "\\frac" in s or "\\binom" in s:
        s = brace_frac_args(s)
    if "^" in s and "\\" in s:
        s = _POW_COMMAND.sub(r"^{\1}", s)  # x^\frac{1}{2} -> x^{\frac{1}{2}}
    unit: str | None = None
    if ("prime" in s or "'" in s) and ("circ" in s or "°" in s):
        s = _DMS.sub(_degrees, s)
    if latex and _TRIG_DEG.search(s):  # \sin 30^\circ: degrees inside a function are converted
        s = _TRIG_DEG_VALUE.sub(r"(\1\\pi/180)", s)
    if _DEG.search(s):
        s = _DEG.sub("", s)
        unit = "deg"
    if _PERCENT.search(s):
        s = _PERCENT.sub("", s)
        unit = "%"
    if "¢" in s:
        s = _CENT_SIGN.sub("", s)
        unit = unit or "cent"
    if _DOLLAR_SIGN.search(s):
        s = _DOLLAR_SIGN.sub("", s)
        unit = unit or "dollar"
    s = s.replace("$", "")
    s = " ".join(s.split())
    s = _group_digits(s)
    s = _TRAILING_PUNCT.sub("", s)
    s = _DANGLING.sub("", s).strip()  # "3 或" -> "3 or" -> "3"
    if latex_unit is not None and is_scale_word(latex_unit):
        s, latex_unit = f"{s} {latex_unit.strip()}", None  # 2.5 \\text{ million}
    if unit is None and latex_unit is not None:
        unit = canonical_unit(latex_unit)
    s, unit = read_quantity(s, unit, peel=unit is None and latex_unit is None)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if (m := _REPEATING.fullmatch(s)) is not None:  # 0.\overline{4} = 4/9, 0.1\overline{6} = 1/6
        s = _repeating_fraction(m)
    while (
        len(s) > 2
        and s[0] == "{"
        and s[-1] == "}"
        and (g := unwrap_braced(s, 0))
        and g[1] == len(s)
    ):
        s = g[0].strip()  # a redundant brace group: {5} is 5
    return Normalized(text=s, unit=unit, raw=raw)


def _degrees(m: re.Match[str]) -> str:
    value = Fraction(m[1]) + Fraction(m[2]) / 60 + Fraction(m[3] or 0) / 3600
    return (f"{value.numerator}/{value.denominator}" if value.denominator > 1 else str(value)) + "°"


_REPEATING = re.compile(r"([+-]?)(\d*)\.(\d*)\\overline\s*\{?\s*(\d+)\s*\}?")


def _repeating_fraction(m: re.Match[str]) -> str:
    sign, whole, fixed, period = m.group(1), m.group(2) or "0", m.group(3), m.group(4)
    value = Fraction(int(whole)) + Fraction(int(fixed or "0"), 10 ** len(fixed))
    value += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return f"{sign}{value.numerator}/{value.denominator}"


_SPACE = re.compile(r"(?<![\w}]) | (?![\w\\{])")


def squeeze(text: str) -> str:
    """Lower-cased, spaces dropped except between two words or numbers ('3 1/2' keeps one)."""
    return _SPACE.sub("", text.replace("  ", " ")).lower()


_STRUCT_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|\S")
_STRUCT_ALIAS = {"\\cdot": "*", "\\times": "*", "\\ast": "*", "\\div": "/", "\\colon": ":"}


def structural_key(text: str) -> tuple[str, ...]:
    """The normalized answer as LaTeX tokens (one digit per token), spacing ignored, `\\cdot`,
    `\\times` and `*` one operator, and braces around a single token dropped (`x^{2}` is
    `x^2`, `9^{9^{9^{9}}}` is `9^{9^{9^9}}`). Two answers with the same key are the same
    expression; used where a size cap forbids evaluating them (never for different forms)."""
    norm = normalize(text)
    tokens = [_STRUCT_ALIAS.get(t, t) for t in _STRUCT_TOKEN.findall(norm.text.replace("**", "^"))]
    out: list[str] = []
    opened: list[int] = []  # positions in `out` of the open braces
    for tok in tokens:
        if tok == "{":
            opened.append(len(out))
            out.append(tok)
        elif tok == "}" and opened:
            start = opened.pop()
            if len(out) - start == 2 and out[-1] not in "{}":
                out.pop(start)  # "{x}" -> "x"
            else:
                out.append(tok)
        else:
            out.append(tok)
    return tuple(out)
