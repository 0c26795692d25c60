"""The exact-fraction evaluator used to cross-check Math23k/Ape210k (never eval)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mwpbench.datasets.arith import ExpressionError, evaluate, format_value
from mwpbench.datasets.equations import check_equation, normalize_ans

CASES = [
    ("1+2*3", Fraction(7)),
    ("(1+2)*3", Fraction(9)),
    ("2^3^2", Fraction(512)),
    ("-2^2", Fraction(-4)),
    ("10/4", Fraction(5, 2)),
    ("25%", Fraction(1, 4)),
    ("80/80%", Fraction(100)),
    ("1(5/6)", Fraction(11, 6)),  # Ape210k mixed number
    ("5((7)/(10))", Fraction(57, 10)),  # Math23k mixed number
    ("2.75-1(5/6)+3(1/4)-2(1/6)", Fraction(2)),
    ("[1+2]*2", Fraction(6)),
    ("3:4", Fraction(3, 4)),
    ("0.1+0.2", Fraction(3, 10)),  # exact, no float error
    ("（1+1）×3÷2", Fraction(3)),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_evaluate(text: str, value: Fraction) -> None:
    assert evaluate(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1+",
        "(1+2",
        "1/0",
        "2^0.5",
        "2^100000",
        "__import__('os')",
        "x+1",
        "1" * 60,
        "(" * 100 + "1" + ")" * 100,
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text)


def test_format_value() -> None:
    assert format_value(Fraction(6, 4)) == "3/2" and format_value(Fraction(-4)) == "-4"


@pytest.mark.parametrize(
    ("ans", "gold", "kind"),
    [
        ("880", "880", "plain"),
        ("((2)/(3))", "2/3", "fraction"),
        ("(3/5)", "3/5", "fraction"),
        ("5((7)/(10))", "57/10", "mixed"),
        ("12.5%", "12.5%", "percent"),
        ("11+13", "24", "expression"),
        ("0.254+0.63", "0.884", "expression"),
        ("(1/5)/12%", "5/3", "expression"),
    ],
)
def test_normalize_ans(ans: str, gold: str, kind: str) -> None:
    answer = normalize_ans(ans)
    assert (answer.gold, answer.kind) == (gold, kind)


def test_check_equation() -> None:
    assert check_equation("x=2*((1)/(3))", normalize_ans("((2)/(3))")) == "ok"
    assert check_equation("x=10/3", normalize_ans("3.33")) == "rounded"
    assert check_equation("x=1/3", normalize_ans("33.33%")) == "rounded"
    assert check_equation("x=7*2", normalize_ans("15")) == "mismatch"
    assert check_equation("x=7*y", normalize_ans("15")) == "unparsed"
    assert check_equation("(5/5)*100", normalize_ans("100")) == "ok"  # no "x=" prefix
