"""Normalized answer text -> a structured value (`Ans`) that `compare` can reason about.

Three readers, cheapest first: exact numbers (fractions.Fraction, no SymPy), a small
recursive-descent grammar for plain arithmetic ("2*sqrt(3)", "11+13"), and LaTeX through
latex2sympy2_extended. Model text never reaches eval/sympify/parse_expr. Every reader is
guarded by caps on length, digits, exponent size, factorials and nesting, checked on the
string before anything symbolic runs (the worker's wall-clock limit is the last line).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mwpbench.grading.normalize import Normalized, normalize, unwrap_braced

MAX_LEN = 1500  # characters of one answer handed to a symbolic reader
MAX_DIGITS = 300  # digits in one literal
MAX_EXPONENT = 10_000  # |n| in a numeric power
MAX_FACTORIAL = 5000
MAX_DEPTH = 40  # bracket nesting


class ParseFailure(ValueError):
    """The text is not an answer we can read (malformed, empty, or over a cap)."""


class CapExceeded(ParseFailure):
    """The text is over a size cap: too big to evaluate, which says nothing about its form
    (two such answers can still be compared structurally)."""


@dataclass(frozen=True, slots=True)
class Ans:
    """A parsed answer.

    kind: num (exact Fraction; `tol` = half a unit in the last written place for decimal
    literals) | expr (SymPy expression) | assign (var = value) | eq (lhs - rhs = 0, SymPy) |
    rel (one-variable condition -> SymPy set in `value`) | list (order-free solutions) |
    set (roster set) | bracket (ordered items with their brackets) | interval (SymPy set) |
    matrix (tuple of rows of Ans) | text (normalized words) | choice (letter) |
    ratio (tuple of Fractions, "3:5", "1:2:3") | time (hours, minutes, seconds; `var` holds
    "am"/"pm" when written)
    """

    kind: str
    value: Any
    tol: Fraction | None = None
    unit: str | None = None
    var: str | None = None  # for assign
    brackets: str = ""  # for bracket: e.g. "()" "[)" "<>"


# ---------------------------------------------------------------- numbers (no SymPy)

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_SLASH = re.compile(r"([+-]?\d+)\s*/\s*(\d+)")
_FRAC = re.compile(r"([+-]?)\\frac\s*(?:\{\s*([+-]?\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d))")
_MIXED_SLASH = re.compile(r"([+-]?)(\d+)\s+(\d+)\s*/\s*(\d+)")
_MIXED_FRAC = re.compile(
    r"([+-]?)(\d+)\s*\\frac\s*(?:\{\s*(\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d))"
)
_PAREN_FRAC = re.compile(r"([+-]?)\(\((\d+)\)/\((\d+)\)\)")  # Math23k ((a)/(b))
# the dataset notations for mixed numbers, read only when they are the whole answer:
# Math23k N((a)/(b)) and Ape210k N(a/b), both meaning N + a/b (a < b)
_DATASET_MIXED = re.compile(r"([+-]?)(\d+)\((?:\((\d+)\)/\((\d+)\)|(\d+)/(\d+))\)")
_SCI = re.compile(
    r"([+-]?\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|\*|×|x)\s*10\s*\^\s*(?:\{\s*([+-]?\d+)\s*\}|([+-]?\d))"
)
_E_NOTATION = re.compile(r"([+-]?\d+(?:\.\d+)?)[eE]([+-]?\d+)")


def _decimals(literal: str) -> int:
    return len(literal.split(".", 1)[1]) if "." in literal else 0


def parse_number(s: str) -> tuple[Fraction, Fraction | None] | None:
    """Exact value and rounding tolerance of a plain number, or None if `s` is not one."""
    s = s.strip()
    if not s or len(s) > 2 * MAX_DIGITS:
        return None
    if _INT.fullmatch(s):
        return Fraction(int(s)), None
    if _DEC.fullmatch(s):
        k = _decimals(s)
        return Fraction(s if not s.endswith(".") else s[:-1]), (
            Fraction(1, 2 * 10**k) if k else None
        )
    if m := _SLASH.fullmatch(s):
        return (Fraction(int(m[1]), int(m[2])), None) if int(m[2]) else None
    if m := _FRAC.fullmatch(s):
        num, den = int(m[2] or m[3]), int(m[4] or m[5])
        return (Fraction(-num if m[1] == "-" else num, den), None) if den else None
    if m := _PAREN_FRAC.fullmatch(s):
        den = int(m[3])
        return (Fraction(int(m[2]), den) * (-1 if m[1] == "-" else 1), None) if den else None
    for pattern in (_MIXED_SLASH, _MIXED_FRAC, _DATASET_MIXED):
        if m := pattern.fullmatch(s):
            groups = [g for g in m.groups()[1:] if g is not None]
            whole, num, den = (int(g) for g in groups)
            if den == 0 or num >= den:
                return None
            value = whole + Fraction(num, den)
            return (-value if m[1] == "-" else value), None
    for pattern in (_SCI, _E_NOTATION):
        if m := pattern.fullmatch(s):
            mantissa, exp = m[1], int(m.group(2) or (m.group(3) if m.re is _SCI else 0) or 0)
            if abs(exp) > 400:
                return None
            k = _decimals(mantissa)
            value = Fraction(mantissa) * Fraction(10) ** exp
            tol = Fraction(1, 2) * Fraction(10) ** (exp - k) if k else None
            return value, tol
    return None


# ---------------------------------------------------------------- words

_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())
    if i >= 2
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_ORDINAL_WORDS = {"half": Fraction(1, 2), "quarter": Fraction(1, 4)}


def parse_number_words(s: str) -> Fraction | None:
    """'twenty-one' -> 21, 'one hundred and five' -> 105, 'half' -> 1/2; else None."""
    words = s.lower().replace("-", " ").replace(",", " ").split()
    words = [w for w in words if w != "and"]
    if not words or len(words) > 12:
        return None
    if len(words) == 1 and words[0] in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[words[0]]
    total, current = 0, 0
    for w in words:
        if w in _SMALL:
            current += _SMALL[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES:
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0
        else:
            return None
    return Fraction(total + current)


# ---------------------------------------------------------------- caps

_DIGIT_RUN = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
_BIG_EXP = re.compile(r"\^\s*\{?\s*[+-]?(\d{5,})")
_FACT_LITERAL = re.compile(r"(\d+)\s*!")


def check_caps(s: str) -> None:
    """Raise ParseFailure when `s` could make a symbolic reader explode."""
    if len(s) > MAX_LEN:
        raise CapExceeded(f"answer longer than {MAX_LEN} characters")
    if _DIGIT_RUN.search(s):
        raise CapExceeded(f"a number with more than {MAX_DIGITS} digits")
    depth = worst = 0
    for c in s:
        if c in "{([":
            depth += 1
            worst = max(worst, depth)
        elif c in "})]":
            depth -= 1
    if worst > MAX_DEPTH:
        raise CapExceeded(f"nesting deeper than {MAX_DEPTH}")
    for m in _BIG_EXP.finditer(s):
        if int(m[1]) > MAX_EXPONENT:
            raise CapExceeded(f"exponent larger than {MAX_EXPONENT}")
    for m in _FACT_LITERAL.finditer(s):
        if int(m[1]) > MAX_FACTORIAL:
            raise CapExceeded(f"factorial of a number larger than {MAX_FACTORIAL}")
    i = s.find("!")
    while i != -1:
        if i > 0 and s[i - 1] in ")}":
            raise CapExceeded("factorial of a bracketed expression")
        i = s.find("!", i + 1)
    _check_towers(s)


def _exponent_group(s: str, i: int) -> str:
    """The exponent after the '^' at s[i]."""
    j = i + 1
    while j < len(s) and s[j] == " ":
        j += 1
    if j < len(s) and s[j] == "{":
        group = unwrap_braced(s, j)
        return group[0] if group else s[j + 1 :]
    m = re.match(r"\\?[A-Za-z]+|\d|.", s[j:])
    return m.group(0) if m else ""


_CHAINED_POWER = re.compile(r"\^\s*\{?\s*[\d.]+\s*\}?\s*\^")


def _check_towers(s: str) -> None:
    """Numeric power towers (9^{9^{9^9}}, 9^9^9) are refused; e^{x^2} is fine."""
    if _CHAINED_POWER.search(s):
        raise CapExceeded("a numeric power tower")
    i = s.find("^")
    while i != -1:
        exponent = _exponent_group(s, i)
        if "^" in exponent and not re.search(r"[A-Za-z]", exponent.replace("\\frac", "")):
            raise CapExceeded("a numeric power tower")
        i = s.find("^", i + 1)


# ---------------------------------------------------------------- plain arithmetic grammar

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z]+)|(?P<op>\*\*|[-+*/^()!,]))"
)
_FUNCS = ("sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "lg", "exp", "abs")
_MULTI_FUNCS = ("gcd", "lcm", "max", "min")  # functions of several arguments
_CONSTS = ("pi", "inf", "infty", "infinity")


class _Plain:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/'|implicit) unary)* ;
    unary := ('-'|'+') unary | power ; power := postfix ('^' unary)? ;
    postfix := atom '!'* ; atom := number | name | func '(' expr ')' | '(' expr ')'"""

    def __init__(self, text: str) -> None:
        import sympy

        self.sp = sympy
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ParseFailure(f"unexpected character {text[pos]!r}")
            kind = m.lastgroup or "op"
            value = m.group(kind)
            if kind == "name":
                low = value.lower()
                if low in _FUNCS or low in _CONSTS or low in _MULTI_FUNCS:
                    self.tokens.append(("name", low))
                else:  # "xy" is x*y, single-letter symbols
                    self.tokens.extend(("name", ch) for ch in value)
            else:
                if kind == "num" and self.tokens and self.tokens[-1][0] == "num":
                    raise ParseFailure("two numbers side by side")  # "2 3" is not 6
                self.tokens.append((kind, value))
            pos = m.end()
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ParseFailure(f"expected {value or 'more input'}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        if not self.tokens:
            raise ParseFailure("empty expression")
        value = self.expr()
        extra = self.peek()
        if extra is not None:
            raise ParseFailure(f"unexpected {extra[1]!r}")
        return value

    def expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CapExceeded("nesting too deep")
        value = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self) -> Any:
        value = self.unary()
        while (tok := self.peek()) is not None:
            if tok[0] == "op" and tok[1] in ("*", "/"):
                self.take()
                rhs = self.unary()
                if tok[1] == "/":
                    if rhs == 0:
                        raise ParseFailure("division by zero")
                    value = value / rhs
                else:
                    value = value * rhs
            elif tok[0] in ("num", "name") or tok[1] == "(":
                value = value * self.unary()  # implicit multiplication: 2x, 2(x+1), 2pi
            else:
                break
        return value

    def unary(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.take()
            value = self.unary()
            return -value if tok[1] == "-" else value
        return self.power()

    def power(self) -> Any:
        base = self.postfix()
        tok = self.peek()
        if tok is not None and tok[1] in ("^", "**"):
            self.take()
            exponent = self.unary()
            return _safe_pow(self.sp, base, exponent)
        return base

    def postfix(self) -> Any:
        value = self.atom()
        while (tok := self.peek()) is not None and tok[1] == "!":
            self.take()
            if not (value.is_Integer and 0 <= value <= MAX_FACTORIAL):
                raise CapExceeded("factorial of a large or non-integer value")
            value = self.sp.factorial(value)
        return value

    def atom(self) -> Any:
        sp = self.sp
        kind, value = self.take()
        if kind == "num":
            if len(value) > MAX_DIGITS:
                raise CapExceeded("number too long")
            return sp.Rational(value)
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "name":
            if value == "pi":
                return sp.pi
            if value in ("inf", "infty", "infinity"):
                return sp.oo
            if value in _FUNCS:
                self.take("(")
                arg = self.expr()
                self.take(")")
                return _apply_function(sp, value, arg)
            if value in _MULTI_FUNCS:
                self.take("(")
                args = [self.expr()]
                while (tok := self.peek()) is not None and tok[1] == ",":
                    self.take()
                    args.append(self.expr())
                self.take(")")
                return _apply_multi(sp, value, args)
            return sp.Symbol(value)
        raise ParseFailure(f"unexpected {value!r}")


def _apply_function(sp: Any, name: str, arg: Any) -> Any:
    table = {
        "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot,
        "sec": sp.sec, "csc": sp.csc, "log": sp.log, "ln": sp.log, "exp": sp.exp, "abs": sp.Abs,
        "lg": lambda x: sp.log(x, 10),
    }  # fmt: skip
    return table[name](arg)


def _apply_multi(sp: Any, name: str, args: list[Any]) -> Any:
    """gcd/lcm of integers (as \\gcd in LaTeX), max/min of anything."""
    if name in ("max", "min"):
        return (sp.Max if name == "max" else sp.Min)(*args)
    if len(args) < 2 or not all(a.is_Integer for a in args):
        raise ParseFailure(f"{name} of non-integers")
    combine = sp.igcd if name == "gcd" else sp.ilcm
    return sp.Integer(functools.reduce(combine, (int(a) for a in args)))


def _safe_pow(sp: Any, base: Any, exponent: Any) -> Any:
    if (
        exponent.is_Number
        and base.is_Number
        and abs(exponent) > MAX_EXPONENT
        and base not in (0, 1, -1)
    ):
        raise CapExceeded("exponent too large")
    if exponent.is_Pow and exponent.base.is_Number and base.is_Number:
        raise CapExceeded("a numeric power tower")
    return sp.Pow(base, exponent)


def parse_plain(s: str) -> Any:
    """Plain-text arithmetic -> SymPy expression, built node by node (never parse_expr)."""
    return _Plain(s).parse()


# ---------------------------------------------------------------- LaTeX

_LATEX_CONFIG: tuple[Any, Any] | None = None


def _latex_configs() -> tuple[Any, Any]:
    global _LATEX_CONFIG
    if _LATEX_CONFIG is None:
        from latex2sympy2_extended.latex2sympy2 import ConversionConfig
        from latex2sympy2_extended.math_normalization import NormalizationConfig

        _LATEX_CONFIG = (
            NormalizationConfig(
                basic_latex=True, units=False, malformed_operators=False, nits=False,
                boxed="none", equations=False,
            ),
            ConversionConfig(
                interpret_as_mixed_fractions=True, interpret_simple_eq_as_assignment=False,
                interpret_contains_as_eq=True, lowercase_symbols=False,
            ),
        )  # fmt: skip
    return _LATEX_CONFIG


def parse_latex(s: str) -> Any:
    """LaTeX -> SymPy, after the caps: our reader (latex.py) for the LaTeX answers use, the
    same expression latex2sympy2_extended would build; latex2sympy2_extended for the rest."""
    check_caps(s)
    import latex2sympy2_extended
    from latex2sympy2_extended.math_normalization import normalize_latex

    from mwpbench.grading.latex import Failure, read_latex, sure_failure

    norm, conv = _latex_configs()
    try:
        text = normalize_latex(s, norm)
        fast = read_latex(text)
        if isinstance(fast, Failure):
            raise ParseFailure(f"malformed LaTeX: {fast.exception}")
        if fast is not None:
            return fast
        if (failure := sure_failure(text)) is not None:
            raise ParseFailure(f"malformed LaTeX: {failure}")
        return latex2sympy2_extended.latex2sympy(text, normalization_config=None, conversion_config=conv)
    except ParseFailure:
        raise
    except RecursionError as exc:
        raise ParseFailure("nesting too deep") from exc
    except Exception as exc:  # the ANTLR parser raises many types on malformed LaTeX
        raise ParseFailure(f"malformed LaTeX: {type(exc).__name__}") from exc


# ---------------------------------------------------------------- structure

_OPEN, _CLOSE = "([{", ")]}"
_REL = re.compile(r"\\leq?slant|\\geq?slant|\\leq?|\\geq?|\\lt|\\gt|\\neq|\\ne|<=|>=|!=|<|>|=")
_REL_NAMES = {
    "\\le": "<=", "\\leq": "<=", "\\leqslant": "<=", "\\leslant": "<=", "<=": "<=",
    "\\ge": ">=", "\\geq": ">=", "\\geqslant": ">=", "\\geslant": ">=", ">=": ">=",
    "<": "<", "\\lt": "<", ">": ">", "\\gt": ">", "=": "=", "\\neq": "!=", "\\ne": "!=", "!=": "!=",
}  # fmt: skip
_WORDS_EMPTY = {"no solution", "no solutions", "none", "empty set", "no real solutions",
                "no real solution", "\\emptyset", "\\varnothing", "\\oslash", "\\phi", "{}", "\\{\\}", "dne",
                "does not exist", "no such value", "there is no solution", "无解", "不存在",
                "空集", "无实数解", "方程无解"}  # fmt: skip
_WORDS_ALL = {"all real numbers", "\\mathbb{r}", "\\mathbb r", "r", "(-\\infty,\\infty)",
              "all reals", "\\mathbb{r}}", "(-\\infty, \\infty)", "x \\in \\mathbb{r}", "全体实数",
              "一切实数", "实数集"}  # fmt: skip
_TEXTY = re.compile(r"[A-Za-z][A-Za-z '\-]*[A-Za-z]|[A-Za-z]")
_CHOICE = re.compile(r"\(?([A-J])\)?")
_CHOICES = re.compile(r"[A-J](?:[ ,]*[A-J])+")
_WORD3 = re.compile(r"[A-Za-z]{3,}")


def _scan_top(s: str) -> list[int]:
    """Bracket depth (any bracket type; \\{ \\} count as braces) before each character."""
    depths = []
    depth = 0
    for c in s:
        if c in _CLOSE:
            depth -= 1
        depths.append(depth)
        if c in _OPEN:
            depth += 1
    return depths


def split_top(s: str, separators: tuple[str, ...]) -> list[str]:
    """Split at top-level separators (outside any bracket); at one place the first of
    `separators` that is there wins."""
    if not any(sep in s for sep in separators):
        return [s.strip()]
    parts, last, resume = [], 0, 0
    depth, counted = 0, 0  # bracket depth before s[counted]
    for m in _separators(separators).finditer(s):
        j = m.start()
        if j < resume:
            continue
        depth += sum(s.count(c, counted, j) for c in _OPEN) - sum(
            s.count(c, counted, j) for c in _CLOSE)  # fmt: skip
        counted = j
        if depth == 0:
            parts.append(s[last:j])
            last = resume = j + len(m[1])
    parts.append(s[last:])
    return [p.strip() for p in parts]


@functools.lru_cache(maxsize=64)
def _separators(separators: tuple[str, ...]) -> re.Pattern[str]:
    """Every place where one of `separators` starts, trying them in order."""
    if any(sep[:1] in _CLOSE or not sep for sep in separators):
        raise ValueError(f"a separator cannot be empty or start with a closing bracket: {separators}")
    return re.compile("(?=(" + "|".join(map(re.escape, separators)) + "))")


def _outer_bracket(s: str) -> tuple[str, str, str] | None:
    """(open, inner, close) when one bracket pair encloses all of `s`."""
    pairs = (("\\left\\{", "\\right\\}"), ("\\{", "\\}"), ("\\langle", "\\rangle"), ("⟨", "⟩"))
    for left, right in pairs:
        if s.startswith(left) and s.endswith(right):
            inner = s[len(left) : len(s) - len(right)]
            if _balanced(inner):
                return left, inner, right
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        depths = _scan_top(s)
        if all(d > 0 for d in depths[1:-1]):
            return s[0], s[1:-1], s[-1]
    return None


def _balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += c in _OPEN
        depth -= c in _CLOSE
        if depth < 0:
            return False
    return depth == 0


def parse_answer(text: str) -> Ans:
    """Parse one answer string. Raises ParseFailure when it cannot be read.

    Answers within the length cap are remembered by their normalized form, readings and
    failures alike: golds repeat (n samples per problem, regrading), common predictions too,
    and a prediction is often its gold written another way (`$x^{2}$` and `x^2`)."""
    norm = normalize(text)
    if len(norm.text) <= _REMEMBERED_LENGTH:
        reading = _remembered(norm.text, norm.unit)
    elif len(norm.text) <= MAX_LEN:  # long golds (worked answers) repeat too: fewer kept
        reading = _remembered_long(norm.text, norm.unit)
    else:
        return _parse_normalized(norm)
    if isinstance(reading, Ans):
        return reading
    failure, message = reading
    raise failure(message)  # a fresh exception: one raised again would grow its traceback


_REMEMBERED_LENGTH = 400


def _reading(text: str, unit: str | None) -> Ans | tuple[type[ParseFailure], str]:
    try:
        return _parse_normalized(Normalized(text=text, unit=unit, raw=text))
    except ParseFailure as exc:  # CapExceeded too: its type is kept
        return type(exc), str(exc)


_remembered = functools.lru_cache(maxsize=8192)(_reading)
_remembered_long = functools.lru_cache(maxsize=256)(_reading)


def _parse_normalized(norm: Normalized) -> Ans:
    """The reading of a normalized answer: it depends on its text and unit only."""
    if not norm.text:
        raise ParseFailure("empty answer")
    if len(norm.text) > MAX_LEN:
        raise CapExceeded(f"answer longer than {MAX_LEN} characters")
    try:
        value = _parse(norm.text, 0)
    except ParseFailure:
        if _WORDY.search(norm.text) or _UNEVALUATED.search(norm.text):
            # prose, series, families of intervals: graded as normalized text
            return Ans("text", _text_key(norm.text), var="raw")
        raise
    except RecursionError as exc:
        raise ParseFailure("nesting too deep") from exc
    except Exception as exc:  # SymPy raises many types on odd structures
        raise ParseFailure(f"cannot evaluate: {type(exc).__name__}") from exc
    if norm.unit and value.kind in ("num", "expr"):
        return Ans(value.kind, value.value, value.tol, norm.unit)
    if norm.unit and value.kind == "assign" and value.value.kind in ("num", "expr"):
        inner = value.value  # "A = 24 cm^2": the unit belongs to the value
        return Ans("assign", Ans(inner.kind, inner.value, inner.tol, norm.unit), var=value.var)
    return value


def _parse(s: str, depth: int) -> Ans:
    if depth > 8:
        raise ParseFailure("structure nested too deep")
    s = s.strip()
    if not s:
        raise ParseFailure("empty item")
    low = s.lower()
    if low in _WORDS_EMPTY:
        return Ans("set", ())
    if low in _WORDS_ALL:
        return Ans("interval", _sympy().Interval(-_sympy().oo, _sympy().oo))
    if m := _CHOICE.fullmatch(s):
        return Ans("choice", m[1])
    if _CHOICES.fullmatch(s):  # multi-answer labels: "ACD", "A B D", "A, C"
        return Ans("choice", "".join(sorted(set(re.findall(r"[A-J]", s)))))
    if (number := parse_number(s)) is not None:
        return Ans("num", number[0], number[1])
    if (":" in s or "m" in low or "clock" in low) and (colon := _parse_colon(s)) is not None:
        return colon
    if _DIGIT_SEQUENCE.fullmatch(s):  # "2 3", "1 0 3 5": digits side by side, not a product
        return Ans("text", " ".join(s.split()), var="digits")
    if _TEXTY.fullmatch(s) and (_WORD3.search(s) or low == "no") and low not in _FUNC_WORDS:
        words = parse_number_words(low)
        if words is not None:
            return Ans("num", words)
        return Ans("text", " ".join(low.replace("-", " ").split()))
    if depth == 0 and s.startswith("(1)") and "(2)" in s:
        # "(1). -1/2 ; (2). ln 2": numbered parts, in order
        items = [p.strip(" ;,.") for p in _NUMBERED_PARTS.split(s) if p.strip(" ;,.")]
        if len(items) >= 2:
            return Ans("bracket", tuple(_parse(p, depth + 1) for p in items), brackets="#")
    if "\\pm" in s or "\\mp" in s:
        return _expand_pm(s, depth)
    if s.startswith("\\begin{"):
        return _parse_matrix(s)
    if (minus := _REALS_MINUS.fullmatch(s)) is not None:  # \\mathbb{R} \\setminus \\{1, 2\\}
        sp = _sympy()
        points = [to_sympy(_parse(p, depth + 1)) for p in split_top(minus[1], (",",)) if p]
        return Ans("interval", sp.Complement(sp.S.Reals, sp.FiniteSet(*points)))
    outer = _outer_bracket(s)
    if outer is not None:
        return _parse_bracketed(outer, depth)
    halves = split_top(s, (":",))
    if len(halves) == 2 and halves[1] and (_REL.search(halves[0]) or _WORD3.search(halves[0])):
        return _parse(halves[1], depth + 1)  # "-1 < x <= 1 : (-1, 1]", "No solution : ∅"
    conj = split_top(s, (" and ",))
    if len(conj) > 1 and all(_REL.search(c) and "=" not in _REL.findall(c) for c in conj):
        sp = _sympy()
        sets = [as_interval(_parse(c, depth + 1)) for c in conj]
        return Ans("rel", sp.Intersection(*sets))
    parts = split_top(s, (";", "\\cup", " or ", " and ", ","))
    if len(parts) > 1:
        pieces = split_top(s, ("\\cup",))
        if len(pieces) > 1:
            return _parse_union(pieces, depth)
        return Ans("list", tuple(_parse(p, depth + 1) for p in parts if p))
    if (builder := _BARE_BUILDER.fullmatch(s)) is not None:  # {x|x>1} with its braces dropped
        return _parse(builder[1], depth + 1)
    if re.match(r"\\in(?![a-zA-Z])", s):
        return _parse(s[3:], depth + 1)
    m = re.match(r"^([a-zA-Z])\s*\\in\s*(.+)$", s)
    if m:
        return _parse(m[2], depth + 1)
    try:
        if _REL.search(s):
            return _parse_relation(s, depth)
        return _scalar(s)
    except ParseFailure:
        if _WORDY.search(s):
            return Ans("text", " ".join(low.split()))  # "4:30 p.m.", "f(2) < f(1) < f(4)"
        raise


_FUNC_WORDS = set(_FUNCS) | set(_CONSTS) | set(_MULTI_FUNCS)
_DIGIT_SEQUENCE = re.compile(r"[+-]?\d+(?:\.\d*)?(?: [+-]?\d+(?:\.\d*)?)+")
_REALS_MINUS = re.compile(
    r"(?:\\mathbb\s*\{?R\}?|R|\(-\\infty,\s*\+?\\infty\))\s*(?:\\setminus|\\backslash|-)\s*\\\{(.+)\\\}"
)
_BARE_BUILDER = re.compile(r"[a-zA-Z]\s*(?:\\mid|\|)\s*(.*(?:[<>]|\\[lg]e|\\neq|\\in).*)")
_SIDE_BY_SIDE = re.compile(r"(?<![\d_^.])\d+(?:\.\d+)? \d")
# a clock time: 9:00, 12:28 pm, 8:03 a.m., 23:50:10 (a bare h:mm is read as a ratio,
# which a time equals component by component; see compare)
_CLOCK = re.compile(
    r"(\d{1,2})(?:\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?)?\s*(?:([ap])\.?\s*m\.?|o'?\s*clock)",
    re.IGNORECASE,
)
_RATIO_ITEM = r"\s*(?:\d+(?:\.\d+)?|\\frac\{\d+\}\{\d+\})\s*"
_RATIO = re.compile(rf"{_RATIO_ITEM}(?::{_RATIO_ITEM})+")


def _parse_colon(s: str) -> Ans | None:
    """ "3:5", "1:2:3" (ratios of numbers), "3:00 pm" (a clock time); None: something else."""
    if m := _CLOCK.fullmatch(s):
        hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
        if hour > 12 or minute > 59 or second > 59:
            return None
        return Ans("time", (hour, minute, second), var=m[4].lower() + "m" if m[4] else None)
    if _RATIO.fullmatch(s):
        items = []
        for item in s.split(":"):
            number = parse_number(item)
            if number is None:
                return None
            items.append(number[0])
        return Ans("ratio", tuple(items))
    return None


_UNEVALUATED = re.compile(
    r"\\(?:cdots|ldots|dots|bigcup|sum|prod|perp|mid|int|forall|exists|wedge|vee|neg|lnot|"
    r"subset|subseteq|subsetneq|supset|supseteq|in|notin|Rightarrow|Leftrightarrow|therefore|"
    r"textcircled|div|times)(?![a-zA-Z])|\\\||[A-Z]\s*\\(?:cup|cap)|\)_\{?\d|"
    r"[\u4e00-\u9fff\u3001○]|^[\s,;+\-=*/]+$"
)
_NUMBERED_PARTS = re.compile(r"\(\d\)\s*\.?\s*")
_WORDY = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}|[A-Za-z]\.|[<>@]")


def _text_key(s: str) -> str:
    return "".join(s.lower().split())


def _sympy() -> Any:
    import sympy

    return sympy


def _scalar(s: str) -> Ans:
    """One expression: plain arithmetic or LaTeX."""
    check_caps(s)
    if _SIDE_BY_SIDE.search(s):
        raise ParseFailure("two numbers side by side")  # "2 3" is neither 6 nor 5
    if "\\" not in s and "{" not in s and "_" not in s:
        try:
            return _from_sympy(parse_plain(s))
        except ParseFailure:
            pass
    return _from_sympy(parse_latex(s))


def _from_sympy(value: Any) -> Ans:
    sp = _sympy()
    if isinstance(value, sp.MatrixBase):
        rows = tuple(
            tuple(_from_sympy(value[i, j]) for j in range(value.cols)) for i in range(value.rows)
        )
        return Ans("matrix", rows)
    if isinstance(value, (sp.Interval, sp.Union)) or value is sp.S.Reals:
        return Ans("interval", value)
    if isinstance(value, sp.FiniteSet):
        return Ans("set", tuple(_from_sympy(v) for v in value.args))
    if isinstance(value, (tuple, list, sp.Tuple)):
        return Ans("bracket", tuple(_from_sympy(v) for v in value), brackets="()")
    if isinstance(value, sp.Equality):
        return _equation(value.lhs, value.rhs)
    if isinstance(value, sp.Basic) and not isinstance(value, sp.Expr):
        raise ParseFailure(f"unsupported answer type {type(value).__name__}")
    if not isinstance(value, sp.Expr):
        raise ParseFailure(f"unsupported answer type {type(value).__name__}")
    if _divides_by_zero(sp, value):
        raise ParseFailure("division by zero")  # 1/0 is no value: it equals nothing
    value = _exactify(sp, value)
    if not value.is_Atom and (not value.free_symbols or _evaluable(sp, value)):
        # 3**100 + 1, 1/factorial(100): exact (sizes capped before); d/dx x^3, a sum to n:
        # evaluated, or sampling would put numbers where their variables are
        value = value.doit()
        if value.has(sp.zoo, sp.nan):
            raise ParseFailure("division by zero")
    if value.is_Rational:
        return Ans("num", Fraction(int(value.p), int(value.q)))
    return Ans("expr", value)


def _evaluable(sp: Any, value: Any) -> bool:
    """A derivative, or a finite sum or product of a polynomial in its index: cheap to
    evaluate in closed form. Infinite series and integrals are left alone (evaluating them
    is a symbolic search that can take seconds)."""
    if value.has(sp.Integral):
        return False
    found = False
    for node in value.atoms(sp.Sum, sp.Product):
        for index, low, high in node.limits:
            if low.has(sp.oo, -sp.oo, sp.zoo) or high.has(sp.oo, -sp.oo, sp.zoo):
                return False
            if not node.function.is_polynomial(index):
                return False
        found = True
    return found or value.has(sp.Derivative)


def _divides_by_zero(sp: Any, value: Any) -> bool:
    """1/0, 0/0 (evaluated: zoo, nan) or x/0 (left unevaluated by the LaTeX reader)."""
    if value.has(sp.zoo, sp.nan):
        return True
    return any(p.base == 0 and p.exp.is_negative for p in value.atoms(sp.Pow))


def _exactify(sp: Any, value: Any) -> Any:
    """Floats -> exact Rationals from their decimal text; symbol i -> I and e -> E when they
    are the only free symbols (complex numbers, Euler's number)."""
    if value.has(sp.Float):
        value = value.xreplace({f: sp.Rational(str(f)) for f in value.atoms(sp.Float)})
    free = value.free_symbols
    if free and {str(x) for x in free} <= {"i", "e"}:
        value = value.xreplace({x: (sp.I if str(x) == "i" else sp.E) for x in free})
    return value


def _equation(lhs: Any, rhs: Any) -> Ans:
    sp = _sympy()
    lhs, rhs = _exactify(sp, lhs), _exactify(sp, rhs)
    if isinstance(lhs, sp.Symbol) and lhs not in rhs.free_symbols:
        return Ans("assign", _from_sympy(rhs), var=str(lhs))
    if isinstance(lhs, sp.Function) and not rhs.has(lhs):  # f(x) = ...
        return Ans("assign", _from_sympy(rhs), var=str(lhs))
    return Ans("eq", lhs - rhs)


def _expand_pm(s: str, depth: int) -> Ans:
    """'2 \\pm \\sqrt3' -> list of both signs; 'x = \\pm 2' too."""
    first = min(i for i in (s.find("\\pm"), s.find("\\mp")) if i != -1)
    width = 3
    plus = s[:first] + "+" + s[first + width :]
    minus = s[:first] + "-" + s[first + width :]
    items = []
    for variant in (plus, minus):
        variant = re.sub(r"(^|[=(,{])\s*\+", r"\1", variant)
        items.append(_parse(variant, depth + 1))
    return Ans("list", tuple(items))


def _parse_matrix(s: str) -> Ans:
    m = re.match(r"\\begin\{([a-zA-Z]*\*?)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$", s, re.DOTALL)
    if m is None:
        raise ParseFailure("malformed matrix environment")
    env, body = m[1], m[2]
    if env in ("cases", "aligned", "align", "align*", "gathered"):
        rows = [r for r in (x.strip() for x in body.split("\\\\")) if r]
        return Ans("list", tuple(_parse(r.replace("&", ""), 1) for r in rows))
    rows = [r for r in (x.strip() for x in body.split("\\\\")) if r]
    if not rows:
        raise ParseFailure("empty matrix")
    cells = tuple(tuple(_parse(c, 1) for c in row.split("&")) for row in rows)
    if len({len(r) for r in cells}) != 1:
        raise ParseFailure("ragged matrix")
    return Ans("matrix", cells)


def _parse_bracketed(outer: tuple[str, str, str], depth: int) -> Ans:
    left, inner, right = outer
    if left in ("\\{", "\\left\\{"):
        builder = re.match(r"^\s*([a-zA-Z])\s*(?:\\mid|\||:|\\vert)\s*(.+)$", inner)
        if builder:
            return _parse(builder[2].replace("\\text{ and }", ","), depth + 1)
        items = [p for p in split_top(inner, (",", ";")) if p]
        return Ans("set", tuple(_parse(p, depth + 1) for p in items))
    items = [p for p in split_top(inner, (",", ";")) if p]
    if left in ("\\langle", "⟨"):
        return Ans("bracket", tuple(_parse(p, depth + 1) for p in items), brackets="<>")
    if len(items) == 1:
        if left + right in ("()", "[]"):
            return _parse(inner, depth + 1)  # redundant parentheses
        raise ParseFailure("half-open bracket around a single item")
    parsed = tuple(_parse(p, depth + 1) for p in items)
    return Ans("bracket", parsed, brackets=left + right)


def _parse_union(pieces: list[str], depth: int) -> Ans:
    return Ans("interval", union_of([as_interval(_parse(p, depth + 1)) for p in pieces]))


def union_of(sets: list[Any]) -> Any:
    """The union of SymPy sets. Intervals with constant ends that certainly do not meet
    (float enclosures apart, or one shared end that both leave out) are the union's pieces
    as they are: SymPy's own union finds the same pieces after comparing every pair of ends
    symbolically (a third of a second for eight intervals with π in their ends)."""
    sp = _sympy()
    if len(sets) > 1 and all(isinstance(s, sp.Interval) for s in sets):
        from mwpbench.grading.numeric import enclose_real

        ends = [(enclose_real(s.start), enclose_real(s.end), s) for s in sets]
        known = [(lo, hi, s) for lo, hi, s in ends if lo is not None and hi is not None]
        if len(known) == len(sets):
            known.sort(key=lambda k: k[0][0])
            if all(_apart_in_order(*a, *b) for a, b in zip(known, known[1:])):
                return sp.Union(*(s for _, _, s in known), evaluate=False)
    result = sp.EmptySet
    for s in sets:
        result = sp.Union(result, s)
    return result


def _apart_in_order(lo_a: Any, hi_a: Any, a: Any, lo_b: Any, hi_b: Any, b: Any) -> bool:
    """Interval `a` certainly lies before `b` and their union does not join them: a gap
    between them, or one shared end that both leave out ((0, 1) and (1, 2))."""
    if hi_a[1] < lo_b[0]:
        return True
    return bool(a.end == b.start and a.right_open and b.left_open and lo_a[1] < lo_b[0])


def as_interval(a: Ans) -> Any:
    """A SymPy set for interval-like answers; raises ParseFailure otherwise."""
    sp = _sympy()
    if a.kind == "assign":
        return as_interval(a.value)
    if a.kind in ("interval", "rel"):
        return a.value
    if a.kind == "bracket" and len(a.value) == 2 and a.brackets in ("()", "[]", "(]", "[)"):
        lo, hi = (to_sympy(v) for v in a.value)
        return sp.Interval(lo, hi, a.brackets[0] == "(", a.brackets[1] == ")")
    if a.kind == "set":
        return sp.FiniteSet(*(to_sympy(v) for v in a.value))
    if a.kind in ("num", "expr"):
        return sp.FiniteSet(to_sympy(a))
    raise ParseFailure(f"not an interval: {a.kind}")


def to_sympy(a: Ans) -> Any:
    sp = _sympy()
    if a.kind == "num":
        return sp.Rational(a.value.numerator, a.value.denominator)
    if a.kind == "expr":
        return a.value
    if a.kind == "assign":
        return to_sympy(a.value)
    raise ParseFailure(f"not a scalar: {a.kind}")


def _parse_relation(s: str, depth: int) -> Ans:
    sp = _sympy()
    ops = [(m.start(), m.end(), _REL_NAMES[m.group(0)]) for m in _REL.finditer(s)]
    depths = _scan_top(s)
    ops = [o for o in ops if depths[o[0]] == 0]
    if not ops:
        return _scalar(s)
    parts, last = [], 0
    for start, end, _ in ops:
        parts.append(s[last:start].strip())
        last = end
    parts.append(s[last:].strip())
    names = [o[2] for o in ops]
    if names == ["="]:
        lhs_text, rhs_text = parts
        rhs = _parse(rhs_text, depth + 1) if rhs_text else None
        if not lhs_text or rhs is None:
            raise ParseFailure("equation with an empty side")
        if (label := label_of(lhs_text)) is not None:
            return Ans("assign", rhs, var=label)  # "g(t) = 4", "a:b = 3:5", "\\cos A = 0.6"
        try:
            lhs = _parse(lhs_text, depth + 1)
        except ParseFailure:  # "|M| = 6", "P(X_n = 4) = 5/8": a name for the value
            return Ans("assign", rhs, var=lhs_text)
        if lhs.kind == "expr" and isinstance(lhs.value, sp.Symbol) and rhs.kind != "expr":
            return Ans("assign", rhs, var=str(lhs.value))
        if (
            lhs.kind == "expr"
            and isinstance(lhs.value, (sp.Symbol, sp.core.function.AppliedUndef))
            and (rhs.kind == "num" or lhs.value not in to_sympy(rhs).free_symbols)
        ):
            return Ans("assign", rhs, var=str(lhs.value))
        if lhs.kind not in ("num", "expr") or rhs.kind not in ("num", "expr"):
            return Ans("assign", rhs, var=lhs_text)
        left, right = to_sympy(lhs), to_sympy(rhs)
        if not left.free_symbols and not right.free_symbols:
            # "\log_6(216) = 3": a computation and its value; the value is the answer
            return Ans("assign", rhs, var=lhs_text)
        if not left.free_symbols and isinstance(right, sp.Symbol):
            return Ans("assign", lhs, var=rhs_text)  # "\frac{40}{3} = a": the value first
        return Ans("eq", left - right)
    if "=" in names:
        # "x = y = 3": the last side is the value
        return _parse(parts[-1], depth + 1)
    return Ans("rel", _relation_set(parts, names), var=None)


_GREEK = (
    r"\\(?:alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|"
    r"mu|nu|xi|rho|sigma|tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Sigma|"
    r"Phi|Psi|Omega)(?![a-zA-Z])"
)
_SUB = r"(?:_\{[^{}]*\}|_[A-Za-z0-9])"
_ARGS = r"\s*\((?:[^()]|\([^()]*\))*\)"
_NAME = rf"(?:[A-Za-z]|{_GREEK}){_SUB}?(?:'+|\^\{{\s*-1\s*\}}(?={_ARGS}))?"
_LABEL_ATOM = (
    rf"(?:{_NAME}(?:{_ARGS})?"  # f(x), g(t), a_n, a_{10}, P(A), f'(x), f^{{-1}}(x), \\alpha
    r"|[A-Z]{2,4}"  # AB, ABC: segments, angles, areas named by their points
    r"|\\(?:overline|overrightarrow|vec|widehat|hat|bar|tilde)\s*\{[^{}]*\}"
    r"|m?\s*\\(?:angle|triangle|odot)\s*[A-Z]{1,4}"
    r"|\|[^|=]{1,20}\|"  # |AB|, |z|
    r"|S"
    + _SUB  # S_{\\triangle ABC}, S_n
    + r"|\\(?:sin|cos|tan|cot|sec|csc|ln|log|lg)(?![a-zA-Z])"
    + _SUB
    + r"?(?:\^\{?-?\d\}?)?"
    r"\s*+(?:\((?:[^()=]|\([^()=]*\))*\)|[^=+\-(),;:<>]++))"  # \\cos A, \\sin 2x, \\log_2(x+1)
)
# One atom at a time: as one pattern with a repeated ":"-separated atom, a long
# "S_{1} : S_{1} : ... (" took exponential time (an atom matched by two alternatives, or its
# spaces shared with the separator's, doubles the ways to fail at each repetition).
_LABEL_PART = re.compile(rf"\s*+{_LABEL_ATOM}\s*")
MAX_LABEL = 80  # characters: a longer left side is an expression, not a name
_LATIN_LETTER = re.compile(r"\s*[A-Za-z]\s*")
_SEGMENT_LENGTH = re.compile(r"^(?:\|(?P<a>[A-Z]{2})\||\\overline\{(?P<b>[A-Z]{2})\})$")


def label_of(lhs: str) -> str | None:
    """The canonical label when the left side of "lhs = value" names the quantity rather
    than constrains it: "g(t)", "a_{n}", "AB", "a:b", "\\cos A". None for a single Latin letter
    (read by the caller, so "x = x^2" stays an equation) and for expressions ("x + y", "2x")."""
    if len(lhs) > MAX_LABEL or _LATIN_LETTER.fullmatch(lhs):
        return None
    if not all(part and _LABEL_PART.fullmatch(part) for part in split_top(lhs, (":",))):
        return None
    label = re.sub(r"\s*([^\w\s\\])\s*", r"\1", " ".join(lhs.split()))
    label = _SEGMENT_LENGTH.sub(lambda m: m["a"] or m["b"], label)  # |AB|, \\overline{AB}: AB
    return re.sub(r"_\{(\w)\}", r"_\1", label)


def _is_variable(p: str) -> bool:
    return bool(re.fullmatch(r"[a-zA-Z]|\\[a-zA-Z]+", p)) and p not in ("\\pi", "\\infty", "e")


def _solve_relation(parts: list[str], op: str) -> Any:
    """'2x > 6' -> (3, oo): one variable, solved over the reals (bounded by the worker)."""
    sp = _sympy()
    lhs, rhs = (to_sympy(_parse(p, 1)) for p in parts)
    free = (lhs - rhs).free_symbols
    if len(free) != 1:
        raise ParseFailure("relation without exactly one variable")
    (x,) = free
    x_real = sp.Symbol(str(x), real=True)
    lhs, rhs = lhs.xreplace({x: x_real}), rhs.xreplace({x: x_real})
    build = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "!=": sp.Ne}.get(op)
    if build is None:
        raise ParseFailure(f"unsupported relation {op}")
    try:
        return sp.solve_univariate_inequality(build(lhs, rhs), x_real, relational=False)
    except (NotImplementedError, ValueError, TypeError) as exc:
        raise ParseFailure(f"cannot solve the relation: {type(exc).__name__}") from exc


def _relation_set(parts: list[str], names: list[str]) -> Any:
    """'1 < x <= 2', 'x > 3', '3 < x', 'x != 1' -> the SymPy set of the one variable."""
    sp = _sympy()
    values: list[Any] = []
    var_index = None
    if len(parts) == 2 and not any(_is_variable(p) for p in parts):
        return _solve_relation(parts, names[0])
    for i, p in enumerate(parts):
        if _is_variable(p):
            if var_index is not None:
                raise ParseFailure("relation with two variables")
            var_index = i
            values.append(None)
        else:
            values.append(to_sympy(_parse(p, 1)))
    if var_index is None:
        raise ParseFailure("relation without a variable")
    result = sp.Interval(-sp.oo, sp.oo)
    for k, op in enumerate(names):
        a, b = values[k], values[k + 1]
        if a is None:  # x op b
            bound, flipped = b, False
        elif b is None:  # a op x  ==  x op' a
            bound, flipped = a, True
        else:
            raise ParseFailure("relation between two constants")
        op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op) if flipped else op
        if op == "<":
            piece = sp.Interval.open(-sp.oo, bound)
        elif op == "<=":
            piece = sp.Interval(-sp.oo, bound)
        elif op == ">":
            piece = sp.Interval.open(bound, sp.oo)
        elif op == ">=":
            piece = sp.Interval(bound, sp.oo)
        elif op == "!=":
            piece = sp.Union(sp.Interval.open(-sp.oo, bound), sp.Interval.open(bound, sp.oo))
        else:
            raise ParseFailure(f"unsupported relation {op}")
        result = sp.Intersection(result, piece)
    return result
