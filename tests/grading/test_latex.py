"""The fast LaTeX reader (grading/latex.py) against latex2sympy2_extended, which it stands in
for: on every text it accepts the two build the identical expression (same node types, same
argument order, same unevaluated structure); it refuses what it does not cover; and
`sure_failure` only names text the original rejects, with the exception it raises.

Differential tables: hand-written shapes (every feature and every quirk), a seeded random
corpus (latex_corpus.py), and, when ../shared/data is present, every LaTeX leaf of the real
golds (slow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.math_normalization import normalize_latex
from latex_corpus import random_latex

import mwpbench.grading.parse as parse_module
from mwpbench.grading.extract import extract
from mwpbench.grading.latex import Failure, read_latex, sure_failure
from mwpbench.grading.parse import ParseFailure, _latex_configs, check_caps, parse_answer

NORM, CONV = _latex_configs()
SHARED = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()


def _text(s: str) -> str:
    return normalize_latex(s, NORM)


def _original(text: str) -> tuple[Any, str | None]:
    try:
        return latex2sympy(text, normalization_config=None, conversion_config=CONV), None
    except Exception as exc:  # the original raises many types
        return None, type(exc).__name__


def same(a: Any, b: Any) -> bool:
    """Identical expressions: node types, argument order, Float precision, symbol names."""
    if type(a) != type(b):  # noqa: E721 - undefined functions compare by name
        return False
    if isinstance(a, sp.MatrixBase) and not isinstance(a, sp.Basic):
        return a.shape == b.shape and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, sp.Float):
        return a._mpf_ == b._mpf_ and a._prec == b._prec
    if isinstance(a, sp.Symbol):
        return a.name == b.name and a.assumptions0 == b.assumptions0
    if isinstance(a, sp.Rational):
        return (a.p, a.q) == (b.p, b.q)
    if isinstance(a, sp.Basic):
        if len(a.args) != len(b.args):
            return False
        return all(same(x, y) for x, y in zip(a.args, b.args, strict=True)) if a.args else a == b
    return a == b


def check(s: str) -> str:
    """'read' (identical to the original), 'read failure' (the original's conversion raises the
    exception named), 'refused', or 'sure failure'; fails the test on any disagreement with the
    original."""
    text = _text(s)
    fast = read_latex(text)
    if isinstance(fast, Failure):
        _, error = _original(text)
        assert error == fast.exception, f"{s!r}: read as a {fast.exception}, the original gives {error or 'a value'}"
        return "read failure"
    if fast is not None:
        slow, error = _original(text)
        assert error is None, f"{s!r}: read as {fast}, the original raises {error}"
        assert same(fast, slow), f"{s!r}: read as {sp.srepr(fast)}, the original gives {sp.srepr(slow)}"
        return "read"
    failure = sure_failure(text)
    if failure is None:
        return "refused"
    _, error = _original(text)
    assert error == failure, f"{s!r}: a sure {failure}, the original gives {error or 'a value'}"
    return "sure failure"


READ = [
    # numbers, fractions, roots, powers
    "42", "007", "3.14", ".5", "0.10", "123456789.123456789012", "1200_7", "4210_{5}",
    "\\frac{3}{4}", "\\dfrac{1}{2}", "\\frac{-3}{4}", "-\\frac{3}{4}", "\\frac{1}{0}", "\\frac{\\sqrt{3}}{2}",
    "2\\sqrt{2}", "\\sqrt{8}", "\\sqrt[3]{2}", "5 \\sqrt[3]{2}", "\\sqrt[n]{x}", "2^{10}", "2^10", "x^23",
    "x^{-1}", "(1+x)^{2}", "\\frac{1}{2}^{2}", "\\sqrt{x}^{2}", "3!", "x!", "(n+1)!",
    # implicit products and the mixed-number rule of the original
    "2x", "2 x y", "xy", "2 3", "2\\frac{1}{2}", "-2\\frac{1}{2}", "2\\frac{1}{2}x", "1 000", "(2)(3)",
    "10-4 n", "-x^2", "3\\cdot-2", "a/b c", "a:b", "2 \\div 4", "3:5", "x \\times y", "2*3",
    # constants, letters, Greek, accents, primes, subscripts
    "\\pi", "2\\pi", "\\frac{\\pi}{3}", "e", "e^{x}", "e^{2}", "e(x+1)", "x(e)", "E", "E^2", "i", "i^{2}",
    "I", "I^{2}", "I_{p}", "\\infty", "-\\infty", "\\theta", "\\theta_1", "\\pi_1", "\\varepsilon", "\\Pi",
    "\\hat{t}", "-3 \\hat{t}", "\\bar{x}^{2}", "\\overline{CD}", "\\vec{i}", "y_{1}^{\\prime}",
    "5^{\\prime \\prime}", "a_{n+2}", "x_{1 0}", "x_12", "x_1^2", "c_{1} e^{2 x}+c_{2} e^{-2 x}", "\\ell h",
    # differentials are symbols there
    "dx", "2 d x", "days", "d \\theta",
    # functions, with and without parentheses
    "\\sin x", "\\sin(x)", "\\sin (2 x) / 4", "\\sin x / 2", "\\sin x y", "\\sin x \\cos x", "\\sin x \\cdot y",
    "\\sin 2\\sqrt{3}", "\\sin x e^{x}", "\\ln 2 \\pi", "\\sin^{2} x", "\\sin^2 x", "\\sin^{-1} x",
    "\\sin^{0} x", "\\sin(x)^2", "\\arcsin x", "\\arctan (\\frac{3}{4})", "\\cosh^{-1} x", "\\log (1.23)+37",
    "\\log 100", "\\ln x", "\\log_{2} 8", "\\log_2 8", "\\exp x", "\\exp(2)", "\\tan^2 x", "\\sin x!",
    "\\frac{\\sin x}{x}", "\\cos 6 t-3 \\sin 6 t", "-\\ln |\\cos x|+C", "\\ln |x|+c", "2|-3 n^{2}-1|+2",
    # undefined functions applied to one atom
    "f(x)", "x(2)", "f^{-1}(x)", "p_{Z}(z)", "\\psi(\\theta)", "x^{2}(y)", "x(x+1)", "2 \\theta(1-\\theta)",
    # sums, products, matrices, \approx
    "\\sum_{n=0}^{\\infty} x^{n} / 2 + 1", "\\prod_{j=1}^{m}(j-v) x", "a \\sum_{m=0}^{3} m",
    "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", "\\begin{pmatrix} 1 & 2 \\end{bmatrix}",
    "2[\\begin{array}{r} 3 \\\\ 1 \\end{array}]-[\\begin{array}{r} 2 \\\\ -2 \\end{array}]",
    "c_{1}[\\begin{array}{l} 0 \\\\ 1 \\end{array}] e^{2 t}", "x \\approx 4.177", "\\frac{40}{3} \\approx 13.33",
    # limits and integrals (the differential last), \gamma where it is Euler's constant there
    "\\lim_{x \\to 0^{+}} x", "\\lim _{n \\rightarrow \\infty} n^{2} /(2 n^{2}+1)", "\\lim_{\\theta \\to 0} \\sin x / x",
    "2\\lim_{x\\to0}x+1", "\\lim_{x \\to 1^{-}} \\frac{1}{x-1}", "\\lim_{t \\rightarrow \\infty} V(t)",
    "\\int_{0}^{2 \\pi} \\sin t d t", "\\int x^2 dx", "\\int dx", "2\\int_0^1 x dx", "\\int^{1}_{0} x^2 + 1 dx",
    "\\int \\sin x \\cos x dx", "\\int_1^2 \\ln x \\, dx", "\\int_0^{\\infty} e^{-x} d x",
    "m_{3} + z_{(1+\\gamma) / 2} s_{3} / \\sqrt{n}", "(1+\\gamma)/2", "\\gamma", "\\gamma x", "\\Gamma ", "2\\gamma",
    "\\gamma _1 x", "f(\\gamma)", "\\frac{\\gamma}{2}", "\\gamma^{2}", "\\gamma^{2}/2",
    # \gamma with no space and an argument after it: the gamma function there, evaluated
    "\\gamma^{2}+1", "-\\frac{m h^{2}(\\gamma^{2}+1)}{r^{3}}", "\\gamma(x)", "\\Gamma(3)", "\\gamma^2 x", "x\\gamma(1+x)",
    # transposes (the lexer's ^T and ^{T}): of a matrix, of a scalar (itself)
    "X^{T} Y", "X Y^{T}", "X^Ty", "(x+1)^T", "\\begin{bmatrix} 1 & 2 \\end{bmatrix}^{T}", "X^{ T}",
    # \{ \} as a group inside an expression; \infty then letters (normalization's "\inftyintely")
    "\\{S_{n}\\} is an increasing sequence", "\\{x\\}+1", "2\\{x+1\\}", "\\{x\\}^{2}", "f\\{x\\}", "\\sin \\{x\\}",
    "then there would be a \\inftyintely many solutions", "\\inftylection points at n \\pi",
    # a differential below a top that does not start with d: a fraction there; a matrix's norm
    "\\frac{cb}{dm}", "\\frac{2}{dx}", "\\frac{(d)}{dx}", "\\|\\begin{bmatrix} 3 \\\\ 4 \\end{bmatrix}\\|",
    # spacing the original skips, \left and \right
    "2\\,000", "\\left(x+1\\right)^{2}", "x \\quad y", "x'",
]  # fmt: skip

REFUSED = [
    "", "x^2^3", "x^{2}_{1}", "\\gamma!", "\\gamma_{1}(x)", "{x+1}", "({x})", "|a|b|c|", "|x|_{0}^{1}",
    "\\int_0^1 x dx + 1", "(\\int x dx)", "\\int x dx dy", "\\lim_{e \\to 0} e", "\\lim_{x \\to 0^+} x",
    "\\frac{d}{dx} x", "\\frac{dy}{dx}", "\\|a\\|b\\|c\\|", "\\{x\\}", "(\\{x\\})", "\\{x", "x \\le 2", "x = 2", "1,2", "x \\in A",
    "\\operatorname{gcd}(2,4)", "\\text{cm}", "\\binom{4}{2}", "x[2]", "\\sin_{2} x", "\\sin^{n} x",
    "\\log_x^2 y", "A^{\\top}", "50\\%", "\\hat {t}", "\\mathbb{R}", "\\pm 2", "x \\approx 1 \\approx 2",
    "\\sum^{n}_{k=1} k", "x_n^2", "\\{2\\}", "1.2.3", "\\cdots", "\\max(1, 2)", "\\sqrt2", "\\frac12", "2E5",
]  # fmt: skip

SURE_FAILURES = [
    "4:30 p.m", "a.b", "No. This would lead to 0", "\\min at x", "\\max at 2 n \\pi", "\\frac{\\max 2}{3}",
    "x \\mid y", "the tree", "bones", "a @ b", "x \\sim N", "-\\frac{2 z}{r^{3}} e_{r}+\\frac{1}{r^{2}} e_{z}", "x e_{2}",
]  # fmt: skip


READ_FAILURES = [
    # in the subset read here, and the original's conversion raises: the norm of an expression,
    # matrices of the wrong shapes
    ("\\|u\\|", "AttributeError"), ("\\frac{1}{\\|u\\|} u", "AttributeError"),
    ("\\|u\\|^{2}\\|v\\|^{2}-(u \\cdot v)^{2}", "AttributeError"),
    ("[\\begin{array}{r}3 \\\\ 0 \\\\ -3\\end{array}] \\times[\\begin{array}{r}-4 \\\\ 0 \\\\ -2\\end{array}]", "ShapeError"),
    ("\\begin{bmatrix} 1 & 2 \\end{bmatrix} + \\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}", "ShapeError"),
]  # fmt: skip


@pytest.mark.parametrize(("s", "exception"), READ_FAILURES)
def test_conversion_failures_are_named_without_the_parser(s: str, exception: str) -> None:
    assert check(s) == "read failure"
    assert read_latex(_text(s)) == Failure(exception)


@pytest.mark.parametrize("s", READ)
def test_reads_what_answers_use_as_the_original_does(s: str) -> None:
    assert check(s) == "read"


@pytest.mark.parametrize("s", REFUSED)
def test_refuses_what_it_does_not_cover(s: str) -> None:
    assert read_latex(_text(s)) is None


@pytest.mark.parametrize("s", SURE_FAILURES)
def test_certain_failures_are_named_without_the_parser(s: str) -> None:
    assert check(s) == "sure failure"


@pytest.mark.parametrize("s", ["x + y", "\\sin x", "\\max(1, 2)", "f(x)", "\\int_0^1 x dx", "1,2", "I^{\\max 2}", "x_{\\max 2}"])
def test_text_the_original_reads_is_never_a_sure_failure(s: str) -> None:
    assert sure_failure(_text(s)) is None


@pytest.mark.parametrize(
    ("s", "value"),
    [
        ("2 3", sp.Integer(5)),  # juxtaposed integers are a mixed number there
        ("\\sin x / 2", sp.sin(sp.Symbol("x") / 2)),  # a bare argument takes the division
        ("\\log 100", sp.Integer(2)),  # \log is base 10
        ("\\ln e", sp.Integer(1)),
        ("e", sp.E),
        ("I^{2}", sp.I),  # the original drops the exponent of I
        ("1200_7", sp.Integer(1200)),  # and the base of a number
        ("\\frac{1}{2}^{2}", sp.Rational(1, 4)),
        ("\\sqrt[3]{8}", sp.Integer(2)),
    ],
)
def test_quirks_of_the_original_are_kept(s: str, value: Any) -> None:
    fast = read_latex(_text(s))
    assert fast is not None and sp.simplify(fast.doit() - value) == 0


def test_random_corpus_reads_as_the_original() -> None:
    outcomes = [check(s) for s in random_latex(seed=20240601, n=400)]
    # the corpus exercises all three outcomes, most of it read
    assert outcomes.count("read") > 150 and outcomes.count("refused") > 20 and outcomes.count("sure failure") > 5


@pytest.mark.slow
def test_large_random_corpus_reads_as_the_original() -> None:
    outcomes = [check(s) for s in random_latex(seed=2, n=2500)]
    assert outcomes.count("read") > 800


def _gold_leaves() -> set[str]:
    """The strings real golds hand to parse_latex (after normalization and splitting)."""
    golds: set[str] = set()
    for line in (SHARED / "math" / "test.jsonl").read_text(encoding="utf-8").splitlines():
        answer = extract(json.loads(line)["solution"]).answer
        if answer:
            golds.add(answer)
    for name in ("college_math/college_math_test.jsonl", "gaokaobench_math/mwpbench_gaokao_bench_math_en.jsonl"):
        for line in (SHARED / name).read_text(encoding="utf-8").splitlines():
            golds.add(json.loads(line)["answer"])
    leaves: set[str] = set()
    original = parse_module.parse_latex

    def collect(s: str) -> Any:
        leaves.add(s)
        return original(s)

    parse_module.parse_latex = collect
    try:
        for gold in golds:
            try:
                parse_answer(gold)
            except ParseFailure:
                pass
    finally:
        parse_module.parse_latex = original
    return leaves


@pytest.mark.slow
def test_real_golds_read_as_the_original() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present (real public test files)")
    outcomes = []
    for s in sorted(_gold_leaves()):
        try:
            check_caps(s)
        except ParseFailure:
            continue
        outcomes.append(check(s))
    assert outcomes.count("read") > 0.8 * len(outcomes)


def test_model_text_is_never_evaluated_as_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import sympy.parsing.sympy_parser as sympy_parser

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parse_expr called on answer text")

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    for s in [*READ, *random_latex(seed=7, n=200)]:
        read_latex(_text(s))  # reads or refuses, never parses text as Python


@pytest.mark.parametrize(
    "s",
    [
        "-" * 1400 + "x",
        "(" * 40 + "x" + ")" * 40,
        "\\sqrt{" * 40 + "2" + "}" * 40,
        "x " * 700,
        "|x|" * 12,
        "\\frac{1}{" * 39 + "2" + "}" * 39,
        "2^{" * 30 + "2" + "}" * 30,
        "\\sin " * 300 + "x",
    ],
)
def test_hostile_text_is_read_or_refused_without_error(s: str) -> None:
    check_caps(s) if len(s) <= 1500 and "^{2^" not in s else None
    read_latex(_text(s))  # a value or None; never an exception or a RecursionError


def test_parse_latex_reads_covered_text_without_antlr(monkeypatch: pytest.MonkeyPatch) -> None:
    import latex2sympy2_extended

    calls: list[str] = []

    def recording(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        return latex2sympy(text, **kwargs)

    monkeypatch.setattr(latex2sympy2_extended, "latex2sympy", recording)
    assert parse_answer("\\frac{\\sqrt{3}}{2}").kind == "expr"
    assert parse_answer("2\\pi r^{2}").kind == "expr"
    assert calls == []
    parse_answer("\\int_{0}^{1} x^{2} dx + 1")  # not covered: the original reads it
    assert len(calls) == 1
    with pytest.raises(ParseFailure, match="malformed LaTeX"):
        parse_answer("\\frac{\\max 2}{3}")  # certain to fail: the original is not asked
    with pytest.raises(ParseFailure, match="malformed LaTeX: AttributeError"):
        parse_module.parse_latex("\\|u\\| + 1")  # read, its conversion fails there: not asked
    assert len(calls) == 1


def test_verdicts_do_not_depend_on_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pair of the case table gets the same verdict with the reader, the sure
    failures and the interval check switched off (latex2sympy2_extended and SymPy only)."""
    import mwpbench.grading.latex as latex_module
    import mwpbench.grading.numeric as numeric_module
    from mwpbench.grading import compare, parse

    rows = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = [(r["pred"], r["gold"]) for r in rows]

    def verdicts() -> list[tuple[Any, ...]]:
        parse._remembered.cache_clear()
        parse._remembered_long.cache_clear()
        return [compare.compare_answers(p, g)[:3] for p, g in pairs]

    fast = verdicts()
    monkeypatch.setattr(latex_module, "read_latex", lambda text: None)
    monkeypatch.setattr(latex_module, "sure_failure", lambda text: None)
    monkeypatch.setattr(numeric_module, "apart", lambda a, b, point: False)
    slow = verdicts()
    parse._remembered.cache_clear()
    parse._remembered_long.cache_clear()
    assert [(p, f) for p, f, s in zip(pairs, fast, slow, strict=True) if f != s] == []
