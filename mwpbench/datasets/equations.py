"""Math23k/Ape210k answers: normalize `ans` and cross-check it against `equation`.

`ans` notations: plain numbers, `((a)/(b))` or `(a/b)` fractions, mixed numbers
`N((a)/(b))` / `N(a/b)` (= N + a/b), percentages (`25%`) and, in Ape210k, arithmetic
expressions (`11+13`). The gold keeps plain numbers and percentages as written and turns
everything else into its exact value (`2/3`, `57/10`, `24`). The equation `x=<expr>` is
evaluated with our own exact arithmetic (mwpbench.datasets.arith) and compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from mwpbench.datasets.arith import ExpressionError, evaluate, format_value

_PLAIN = re.compile(r"^[-+]?(\d+(\.\d+)?|\.\d+)$")


@dataclass(frozen=True, slots=True)
class Answer:
    gold: str  # the gold string given to the grader
    value: Fraction  # its exact value (a percentage counts as value / 100)
    kind: str  # plain | percent | fraction | mixed | expression


def normalize_ans(ans: str) -> Answer:
    """Parse an `ans` string; ExpressionError when it is not arithmetic."""
    text = ans.strip().replace("％", "%")
    if _PLAIN.match(text):
        return Answer(text.lstrip("+"), Fraction(text), "plain")
    if text.endswith("%") and _PLAIN.match(text[:-1].strip()):
        inner = text[:-1].strip()
        return Answer(inner.lstrip("+") + "%", Fraction(inner) / 100, "percent")
    value = evaluate(text)
    if re.match(r"^\d+\(", text):
        kind = "mixed"
    elif re.fullmatch(r"[()\d\s/.]+", text):
        kind = "fraction"
    else:
        kind = "expression"
    gold = _decimal(value) if "." in text else None
    return Answer(gold or format_value(value), value, kind)


def _decimal(value: Fraction) -> str | None:
    """`0.884` for a terminating decimal value, else None."""
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return None
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_equation(equation: str, answer: Answer) -> str:
    """`ok`, `rounded` (ans is the equation's value rounded), `mismatch` or `unparsed`."""
    expr = equation.strip()
    if expr[:2].lower() == "x=":
        expr = expr[2:]
    elif "=" in expr:
        return "unparsed"
    try:
        value = evaluate(expr)
    except (ExpressionError, ZeroDivisionError):
        return "unparsed"
    if value == answer.value:
        return "ok"
    if answer.kind in ("plain", "percent"):
        shown = answer.gold.rstrip("%")
        places = len(shown.split(".")[1]) if "." in shown else 0
        if answer.kind == "percent":
            places += 2
        quantum = Decimal(1).scaleb(-places)
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        if exact.quantize(quantum) == Decimal(answer.value.numerator) / Decimal(
            answer.value.denominator
        ):
            return "rounded"
    return "mismatch"
