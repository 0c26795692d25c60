"""`numeric.apart`: certain non-equality from float intervals, never a wrong "apart".

Its promise is one-sided: True only when the two values differ by far more than the
60-digit tolerance of `compare`; False ("not known to differ") for equal values written
differently, for values closer than that, and for whatever it does not enclose (complex
values, poles, unknown functions, overflow). A seeded random table checks the promise
against SymPy's own 50-digit evaluation.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import sympy as sp

from mwpbench.grading.compare import compare_answers
from mwpbench.grading.numeric import apart

x, y = sp.symbols("x y")
AT = {x: sp.Rational(37, 11), y: sp.Rational(-53, 17)}
U = {"evaluate": False}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (sp.sqrt(2), sp.Rational(141421356, 10**8)),
        (sp.pi, sp.Rational(22, 7)),
        (x + 1, x + 2),
        (sp.sin(x), sp.cos(x)),
        (sp.log(8, 2, **U), sp.Rational(30001, 10000)),
        (sp.Mul(2, sp.Pow(3, -1, **U), **U), sp.Rational(2, 3) + sp.Rational(1, 10**12)),
        (sp.exp(x), x**3),
        (sp.Integer(10) ** 20, sp.Integer(10) ** 20 + 10**6),
        (sp.atan(y), sp.asin(sp.Rational(1, 2))),
        (sp.factorial(10, **U), sp.Integer(3628801)),
        (sp.I + 1, sp.Integer(1)),  # complex values, by their real and imaginary parts
        (sp.Mul(3, sp.I, **U), sp.Mul(2, sp.I, **U)),
        (sp.sqrt(-x, evaluate=False), sp.Integer(7)),  # i sqrt(37/11)
        (sp.Pow(1 + sp.I, 4, **U), sp.Integer(4)),  # (1+i)^4 = -4
        (sp.acot(sp.Integer(1), **U), sp.pi / 3),
        (sp.acot(sp.Integer(-1), **U), sp.pi * 3 / 4),  # SymPy's acot(-1) is -π/4, not 3π/4
    ],
)
def test_values_that_differ_are_apart(a: Any, b: Any) -> None:
    assert apart(a, b, AT)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (2 * sp.sqrt(2), sp.Pow(8, sp.S.Half, **U)),
        (sp.log(8, 2, **U), sp.Integer(3)),
        (sp.sin(sp.pi / 6, **U), sp.Rational(1, 2)),
        (x**2 - 1, sp.Mul(x - 1, x + 1, **U)),
        (sp.exp(sp.log(3, **U), **U), sp.Integer(3)),
        (sp.Pow(sp.E, 2, **U), sp.exp(2)),
        (sp.acot(y, **U), sp.atan(1 / y, **U)),
        (sp.acot(sp.Integer(-1), **U), -sp.pi / 4),
        (sp.Integer(1), 1 + sp.Rational(1, 10**50)),  # closer than any tolerance: not decided here
        (sp.Rational(1, 10**300), sp.Rational(2, 10**300)),  # tiny: compare's tolerance decides
        (sp.Pow(1 + sp.I, 4, **U), sp.Integer(-4)),
        (sp.Mul(sp.I, sp.I, **U), sp.Integer(-1)),
        (sp.Pow(-4, sp.S.Half, **U), sp.Mul(2, sp.I, **U)),
    ],
)
def test_equal_or_nearly_equal_values_are_not_apart(a: Any, b: Any) -> None:
    assert not apart(a, b, AT)


@pytest.mark.parametrize(
    "a",
    [
        sp.sin(sp.I, **U),  # a function of a complex argument
        sp.Pow(-x, sp.Rational(1, 3), **U),  # a complex principal root
        sp.log(-x, **U),
        sp.Pow(-8, sp.Rational(1, 3), **U),  # the principal root is complex
        sp.oo,
        sp.zoo,
        sp.Mul(1, sp.Pow(x - x, -1, **U), **U),  # a pole
        sp.Function("f")(x),
        sp.erf(x),  # not enclosed
        sp.Pow(2, 5000, **U),  # overflows a float
        sp.Matrix([[1, 2]]),
    ],
)
def test_what_is_not_enclosed_is_never_apart(a: Any) -> None:
    assert not apart(a, sp.Integer(7), AT)
    assert not apart(sp.Integer(7), a, AT)


def _random_expr(r: random.Random, depth: int = 0) -> Any:
    if depth > 3 or r.random() < 0.3:
        return r.choice([x, y, sp.pi, sp.E, sp.I, sp.Integer(r.randint(-9, 9)), sp.Rational(r.randint(1, 30), r.randint(1, 30)), sp.Float(r.uniform(-5, 5))])
    a, b = _random_expr(r, depth + 1), _random_expr(r, depth + 1)
    k = r.randrange(9)
    if k == 0:
        return sp.Add(a, b, evaluate=False)
    if k == 1:
        return sp.Mul(a, b, evaluate=False)
    if k == 2:
        return sp.Pow(a, r.choice([2, 3, -1, sp.S.Half, sp.Rational(1, 3), b]), evaluate=False)
    if k == 3:
        return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)
    f = r.choice([sp.sin, sp.cos, sp.tan, sp.exp, sp.log, sp.atan, sp.sinh, sp.Abs, sp.sqrt])
    return f(a, evaluate=False) if f is not sp.sqrt else sp.sqrt(a, evaluate=False)


def test_apart_agrees_with_sympy_on_random_expressions() -> None:
    r = random.Random(20240601)
    decided = 0
    for _ in range(400):
        a, b = _random_expr(r), _random_expr(r) if r.random() < 0.7 else None
        if b is None:  # the same value written twice, once unevaluated
            b = a.doit() if r.random() < 0.5 else a
        if apart(a, b, AT):
            decided += 1
            d = sp.N((a - b).xreplace(AT), 50)
            assert abs(d) > sp.Float("1e-40") * max(1, abs(sp.N(b.xreplace(AT), 50))), (a, b)
    assert decided > 100


def test_non_equal_pairs_skip_the_symbolic_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    import mwpbench.grading.compare as compare

    def symbolic(*args: Any) -> Any:
        raise AssertionError("symbolic comparison for a pair that differs numerically")

    monkeypatch.setattr(compare, "_constants_equal", symbolic)
    monkeypatch.setattr(compare, "_symbolic_equal", symbolic)
    for pred, gold in [("\\sqrt{2}", "\\frac{3}{2}"), ("2\\pi", "\\frac{44}{7}"), ("x^2+1", "x^2-1"), ("\\sin x", "\\cos x")]:
        assert compare_answers(pred, gold)[0] is False


def test_grading_entry_points_do_not_import_sympy() -> None:
    """The in-process fast paths stay light: SymPy is imported where comparisons run."""
    import subprocess
    import sys

    code = "import sys, mwpbench.grading.api, mwpbench.grading.compare; assert 'sympy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
