"""Are two answers the same value? The strict policy of DESIGN.md, fast paths first.

`fast_compare` runs in the caller's process: normalized-string equality and exact numbers
(fractions.Fraction), no SymPy. `compare_answers` is the full comparison; it runs in a
killable worker process (see pool.py) because SymPy on hostile input can take forever.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from mwpbench.grading.normalize import Normalized, normalize, squeeze, structural_key
from mwpbench.grading.parse import (
    Ans,
    CapExceeded,
    ParseFailure,
    as_interval,
    label_of,
    parse_answer,
    parse_number,
    to_sympy,
    union_of,
)
from mwpbench.grading.quantities import duration_hours
from mwpbench.grading.units import unit_info

# (correct, status, method, detail)
Result = tuple[bool, str, str, "str | None"]

_SAMPLE_POINTS = 5
_REL_TOL = 1e-9


# ---------------------------------------------------------------- fast path (no SymPy)


def _units_compatible(a: Normalized, b: Normalized) -> bool | None:
    """False when both carry units of different dimensions; True when the same; None else."""
    if a.unit and b.unit and a.unit != b.unit:
        da, db = unit_info(a.unit), unit_info(b.unit)
        if da and db:
            return da[0] == db[0]
        return False if (da or db) else None
    return True


def _scaled(value: Fraction, unit: str | None, other: str | None) -> Fraction:
    if unit and other and unit != other:
        info, other_info = unit_info(unit), unit_info(other)
        if info is not None and other_info is not None:
            return value * info[1]
    return value


def number_equal(p: Fraction, g: Fraction, g_tol: Fraction | None) -> tuple[bool, str]:
    if p == g:
        return True, "rational"
    if g_tol is not None and abs(p - g) <= g_tol:
        return True, "decimal_precision"
    return False, "rational"


def fast_compare(pred: str, gold: str) -> tuple[bool, str] | None:
    """Decide the common cases without SymPy; None when the full comparison is needed."""
    p, g = normalize(pred), normalize(gold)
    if not p.text:
        return None
    units = _units_compatible(p, g)
    if squeeze(p.text) == squeeze(g.text):
        if units is False or (p.unit and g.unit and p.unit != g.unit):
            return None  # same number, different unit: let the unit rules decide
        return True, "string"
    pn, gn = parse_number(p.text), parse_number(g.text)
    if pn is not None and gn is not None:
        if units is False:
            return False, "unit"
        if "deg" in (p.unit, g.unit) and p.unit != g.unit:
            return None  # degrees against radians: needs pi
        pv = _scaled(pn[0], p.unit, g.unit)
        gv = _scaled(gn[0], g.unit, p.unit)
        verdict = number_equal(pv, gv, gn[1] if p.unit == g.unit or not p.unit or not g.unit else None)
        if not verdict[0] and p.unit == "min" and g.unit is None:
            # "2 hours and 15 minutes" against a bare gold: the gold is in minutes (135) or
            # in hours (2.25); the question says which, the gold does not
            hours = duration_hours(p.raw)
            if hours is not None and number_equal(hours, gn[0], gn[1])[0]:
                return True, "duration_hours"
        return verdict
    return None


# ---------------------------------------------------------------- full comparison (worker)


def compare_answers(pred: str, gold: str) -> Result:
    """Full strict comparison of an extracted answer with a gold answer. Never raises on
    `pred`; a gold that cannot be parsed falls back to string equality (a dataset bug that
    `mwpbench check-data` reports)."""
    fast = fast_compare(pred, gold)
    if fast is not None:
        return fast[0], "correct" if fast[0] else "incorrect", fast[1], None
    try:
        g = parse_answer(gold)  # remembered: golds repeat
    except CapExceeded as exc:  # too big to evaluate: the same expression or nothing
        same = structural_key(pred) == structural_key(gold)
        return same, "correct" if same else "incorrect", "structural", f"gold over a cap: {exc}"
    except ParseFailure as exc:
        same = squeeze(normalize(pred).text) == squeeze(normalize(gold).text)
        return same, "correct" if same else "incorrect", "string", f"gold did not parse: {exc}"
    try:
        p = parse_answer(pred)
    except CapExceeded as exc:
        if structural_key(pred) == structural_key(gold):
            return True, "correct", "structural", None
        return False, "parse_error", "none", str(exc)
    except ParseFailure as exc:
        return False, "parse_error", "none", str(exc)
    except RecursionError:
        return False, "parse_error", "none", "nesting too deep"
    try:
        ok, method = equal(p, g)
    except (ParseFailure, RecursionError, ValueError, TypeError, ZeroDivisionError,
            OverflowError, ArithmeticError, AttributeError, NotImplementedError) as exc:  # fmt: skip
        return False, "incorrect", "error", f"{type(exc).__name__}: {exc}"[:200]
    return ok, "correct" if ok else "incorrect", method, None


def equal(p: Ans, g: Ans) -> tuple[bool, str]:
    """Value equality of a parsed prediction `p` and gold `g`."""
    # x = 3  vs  3 ; y = 2x+1 vs 2x+1
    if p.kind == "assign" and g.kind not in ("assign", "eq"):
        return equal(p.value, g)
    if g.kind == "assign" and p.kind not in ("assign", "eq"):
        return equal(p, g.value)
    if p.kind == "assign" and g.kind == "assign":
        if _labels_agree(p.var, g.var, g.value):
            return equal(p.value, g.value)
        if _is_symbolic(p.value) or _is_symbolic(g.value):  # "y = x" is "x = y"
            return _equation_equal(p, g), "equation"
        return False, "equation"
    if "eq" in (p.kind, g.kind):
        return _equation_equal(p, g), "equation"
    if p.kind in ("ratio", "time") or g.kind in ("ratio", "time"):
        return _colon_equal(p, g)
    if p.kind == "choice" or g.kind == "choice":
        same = p.kind == g.kind and p.value.upper() == g.value.upper()
        return same, "choice"
    if p.kind == "text" or g.kind == "text":
        same = p.kind == g.kind and p.value == g.value
        return same, "text"
    if g.kind == "list" and len(g.value) == 1:
        return equal(p, g.value[0])
    if p.kind == "list" and (
        len(p.value) == 1 or (g.kind != "list" and _unique_count(p.value) == 1)
    ):
        return equal(p.value[0], g)  # "x+11 or 11+x" is one answer written twice, not a hedge
    interval_kinds = ("interval", "rel")
    if p.kind in interval_kinds or g.kind in interval_kinds:
        return _interval_equal(p, g), "interval"
    if p.kind == "matrix" or g.kind == "matrix":
        return _matrix_equal(p, g), "matrix"
    if p.kind in ("list", "set") and g.kind in ("list", "set"):
        return _multiset_equal(p.value, g.value), "set"
    if p.kind == "bracket" or g.kind == "bracket":
        return _bracket_equal(p, g), "tuple"
    if p.kind in ("list", "set") or g.kind in ("list", "set"):
        return False, "set"  # a list of answers against one answer: hedged or incomplete
    return scalar_equal(p, g)


_APPLIED = re.compile(r"^(?:[A-Za-z]|\\[a-zA-Z]+)(?:'+|\^\{-1\})?(\(.*\))$")
_SUBSCRIPT = re.compile(r"_(?:\{[^{}]*\}|[A-Za-z0-9])")


def _labels_agree(p_var: str | None, g_var: str | None, value: Ans) -> bool:
    """Do two labels name the same quantity? "x" and "y", "AB" and "BC", "\\cos x" and
    "\\sin x", "P(A)" and "P(B)" do not; a function's name is free ("f(x) = 2x" is "g(x) =
    2x" and "y = 2x"), and so is a root's index ("x_1 = 3" is "x = 3")."""
    if p_var is None or g_var is None or p_var == g_var:
        return True
    known = [len(v) == 1 or label_of(v) is not None for v in (p_var, g_var)]
    if not all(known):
        return True  # a name we cannot read ("(x,y)", "width"): the value decides
    applied_p, applied_g = _APPLIED.match(p_var), _APPLIED.match(g_var)
    if applied_p and applied_g:
        return applied_p[1] == applied_g[1]
    if (len(p_var) == 1 and applied_g) or (len(g_var) == 1 and applied_p):
        return value.kind == "expr" and bool(to_sympy(value).free_symbols)
    bare_p, bare_g = _SUBSCRIPT.sub("", p_var), _SUBSCRIPT.sub("", g_var)
    return bare_p == bare_g and len(bare_p) == 1 and (bare_p == p_var or bare_g == g_var)


def _is_symbolic(a: Ans) -> bool:
    return a.kind == "expr" and bool(a.value.free_symbols)


def _colon_equal(p: Ans, g: Ans) -> tuple[bool, str]:
    """Ratios and clock times. Ratios are equal when proportional (2:4 = 1:2 = 0.5); a ratio
    with a zero part (a time such as 3:00) only when equal part by part, so 3:00 is never
    12:00. A time with am/pm equals the bare time and its 24-hour form (3:00 pm = 15:00)."""
    if p.kind == "time" or g.kind == "time":
        return _time_equal(p, g), "time"
    if p.kind == "ratio" and g.kind == "ratio":
        a, b = p.value, g.value
        if len(a) != len(b):
            return False, "ratio"
        if 0 in a or 0 in b:
            return a == b, "ratio"
        return all(x * b[0] == y * a[0] for x, y in zip(a, b)), "ratio"
    ratio, other = (p, g) if p.kind == "ratio" else (g, p)
    if len(ratio.value) != 2 or ratio.value[1] == 0 or other.kind not in ("num", "expr"):
        return False, "ratio"
    value = Ans("num", ratio.value[0] / ratio.value[1])
    return scalar_equal(value, other) if ratio is p else scalar_equal(other, value)


def _time_equal(p: Ans, g: Ans) -> bool:
    def clock(a: Ans) -> tuple[tuple[int, int, int], str | None] | None:
        if a.kind == "time":
            return a.value, a.var
        if (
            a.kind == "ratio"
            and 2 <= len(a.value) <= 3
            and all(x.denominator == 1 for x in a.value)
        ):
            parts = tuple(int(x) for x in a.value) + (0,) * (3 - len(a.value))
            return (parts[0], parts[1], parts[2]), None
        return None

    cp, cg = clock(p), clock(g)
    if cp is None or cg is None or cp[0][1:] != cg[0][1:]:
        return False
    (hp, _, _), sp_ = cp
    (hg, _, _), sg = cg
    if sp_ and sg:
        return sp_ == sg and hp % 12 == hg % 12
    if sp_ or sg:  # one side has no am/pm: its hour as written, or on the 24-hour clock
        hour, suffix, bare = (hp, sp_, hg) if sp_ else (hg, sg, hp)
        return bare == hour or bare == hour % 12 + (12 if suffix == "pm" else 0)
    return hp == hg


def _values(xs: tuple[Ans, ...]) -> tuple[Ans, ...]:
    """Items with `x = 3` read as `3`."""
    return tuple(x.value if x.kind == "assign" else x for x in xs)


def _multiset_equal(ps: tuple[Ans, ...], gs: tuple[Ans, ...]) -> bool:
    ps, gs = _values(ps), _values(gs)
    if len(ps) != len(gs):
        # duplicates do not count: {1, 1, 2} == {1, 2}
        return _unique_count(ps) == _unique_count(gs) and _covers(ps, gs) and _covers(gs, ps)
    unused = list(gs)
    for x in ps:
        for k, y in enumerate(unused):
            if equal(x, y)[0]:
                del unused[k]
                break
        else:
            return False
    return True


def _unique_count(xs: tuple[Ans, ...]) -> int:
    unique: list[Ans] = []
    for x in xs:
        if not any(equal(x, u)[0] for u in unique):
            unique.append(x)
    return len(unique)


def _covers(xs: tuple[Ans, ...], ys: tuple[Ans, ...]) -> bool:
    return all(any(equal(x, y)[0] for y in ys) for x in xs)


def _ordered_equal(ps: tuple[Ans, ...], gs: tuple[Ans, ...]) -> bool:
    return len(ps) == len(gs) and all(equal(x, y)[0] for x, y in zip(ps, gs))


def _bracket_equal(p: Ans, g: Ans) -> bool:
    if p.kind == "bracket" and g.kind == "bracket":
        if len(p.value) == 2 and len(g.value) == 2 and p.brackets != g.brackets:
            if "<>" in (p.brackets, g.brackets):
                return _ordered_equal(p.value, g.value)
            return False  # (1,2] vs [1,2): endpoints' closedness differs
        return _ordered_equal(p.value, g.value)
    other = p if g.kind == "bracket" else g
    if other.kind == "list":  # "1, 2" against "(1, 2)": read in order
        return _ordered_equal(_values(_by_variable(p.value)), _values(_by_variable(g.value)))
    return False


def _by_variable(xs: tuple[Ans, ...]) -> tuple[Ans, ...]:
    """ "y = 3, x = 2" -> x = 2, y = 3: assignments to distinct one-letter variables are read
    in the order of their variables (the order of the point (x, y), of (a, b))."""
    names = [x.var for x in xs if x.kind == "assign" and x.var is not None]
    if (
        len(names) != len(xs)
        or len(set(names)) != len(names)
        or not all(len(v) == 1 for v in names)
    ):
        return xs
    return tuple(sorted(xs, key=lambda x: str(x.var)))


def _matrix_equal(p: Ans, g: Ans) -> bool:
    def rows(a: Ans) -> tuple[tuple[Ans, ...], ...] | None:
        if a.kind == "matrix":
            return a.value
        if (
            a.kind in ("bracket", "list")
            and a.value
            and all(x.kind == "bracket" and len(x.value) == len(a.value[0].value) for x in a.value)
        ):  # nested lists: [[1, 2], [3, 4]] row by row
            return tuple(x.value for x in a.value)
        if a.kind in ("bracket", "list"):  # a vector written as a list: a column
            return tuple((x,) for x in a.value)
        return None

    pr, gr = rows(p), rows(g)
    if pr is None or gr is None:
        return False
    if len(pr) != len(gr) or any(len(a) != len(b) for a, b in zip(pr, gr)):
        # a row vector against a column vector of the same entries
        flat_p = [x for r in pr for x in r]
        flat_g = [x for r in gr for x in r]
        if (len(pr) == 1 or len(pr[0]) == 1) and (len(gr) == 1 or len(gr[0]) == 1):
            return _ordered_equal(tuple(flat_p), tuple(flat_g))
        return False
    return all(equal(x, y)[0] for a, b in zip(pr, gr) for x, y in zip(a, b))


def _interval_equal(p: Ans, g: Ans) -> bool:
    import sympy as sp

    def as_set(a: Ans) -> Any:
        if a.kind == "list":
            return union_of([as_set(x) for x in a.value])
        return as_interval(a)

    try:
        ps, gs = as_set(p), as_set(g)
    except ParseFailure:
        return False
    if ps == gs:
        return True
    return _sets_equal(sp, ps, gs)


def _sets_equal(sp: Any, a: Any, b: Any) -> bool:
    """Interval unions equal by endpoints (values compared exactly) and closedness."""

    def pieces(s: Any) -> list[Any] | None:
        if isinstance(s, sp.Interval):
            return [s]
        if isinstance(s, sp.Union):
            out = []
            for arg in s.args:
                sub = pieces(arg)
                if sub is None:
                    return None
                out.extend(sub)
            return out
        if s is sp.S.EmptySet:
            return []
        return None

    pa, pb = pieces(a), pieces(b)
    if pa is None or pb is None or len(pa) != len(pb):
        return False
    key = lambda iv: float(iv.start) if iv.start.is_finite else -1e308  # noqa: E731
    pa.sort(key=key)
    pb.sort(key=key)
    for x, y in zip(pa, pb):
        if x.left_open != y.left_open or x.right_open != y.right_open:
            return False
        if not (_expr_equal(sp, x.start, y.start) and _expr_equal(sp, x.end, y.end)):
            return False
    return True


def _equation_equal(p: Ans, g: Ans) -> bool:
    import sympy as sp

    def residual(a: Ans) -> Any:
        if a.kind == "eq":
            return a.value
        if a.kind == "assign":
            return sp.Symbol(a.var) - to_sympy(a.value) if a.var and len(a.var) <= 3 else None
        return None

    rp, rg = residual(p), residual(g)
    if rp is None or rg is None:
        return False
    if rp.free_symbols != rg.free_symbols or not rg.free_symbols:
        return False
    # same solution set for linear-like equations: residuals proportional by a constant
    ratios = _sample_values(sp, rp / rg, rg.free_symbols | rp.free_symbols)
    if len(ratios) < 2:
        return False
    first = ratios[0]
    if abs(first) < 1e-12:
        return False
    return all(abs(r - first) <= _REL_TOL * max(1.0, abs(first)) for r in ratios[1:])


def scalar_equal(p: Ans, g: Ans) -> tuple[bool, str]:
    """Numbers and expressions, with units, degrees and the gold-precision rule."""
    import sympy as sp

    if p.kind not in ("num", "expr") or g.kind not in ("num", "expr"):
        return False, "type"
    pu, gu = p.unit, g.unit
    dp, dg = unit_info(pu), unit_info(gu)
    if pu and gu and pu != gu and dp and dg and dp[0] != dg[0]:
        return False, "unit"
    pv, gv = to_sympy(p), to_sympy(g)
    # degrees against radians: a bare number is radians
    if (pu == "deg") != (gu == "deg"):
        if gu == "deg" and pv.has(sp.pi):
            gv = gv * sp.pi / 180
        elif pu == "deg" and gv.has(sp.pi):
            pv = pv * sp.pi / 180
    elif pu and gu and pu != gu and dp and dg:
        pv = pv * sp.Rational(dp[1].numerator, dp[1].denominator)
        gv = gv * sp.Rational(dg[1].numerator, dg[1].denominator)
    if p.kind == "num" and g.kind == "num" and pv.is_Rational and gv.is_Rational:
        ok, method = number_equal(
            Fraction(int(pv.p), int(pv.q)), Fraction(int(gv.p), int(gv.q)), g.tol
        )
        return ok, method
    if not pv.free_symbols and not gv.free_symbols:
        if g.tol is not None:  # a rounded decimal gold: any exact value that rounds to it
            value = _numeric(sp, pv)
            if value is None:
                return False, "numeric"
            return abs(value - complex(gv)) <= float(g.tol) * (1 + 1e-12), "decimal_precision"
        if p.tol is not None:
            # a decimal approximation against an exact irrational gold is not the gold
            return False, "numeric"
        return _expr_equal(sp, pv, gv), "numeric"
    return _expr_equal(sp, pv, gv), "symbolic"


def _numeric(sp: Any, value: Any) -> complex | None:
    try:
        result = complex(sp.N(value, 30))
    except (TypeError, ValueError, OverflowError):
        return None
    if result != result or abs(result) == float("inf"):
        return None
    return result


def _expr_equal(sp: Any, a: Any, b: Any) -> bool:
    """Exact expressions: structurally, at 30 digits for constants, or at random points.
    Values that certainly differ at the first point (float intervals) skip the SymPy work."""
    if a == b:
        return True
    if a.free_symbols and b.free_symbols and a.free_symbols != b.free_symbols:
        return False  # answers in other variables (a constant side may still simplify away)
    if _infinite_series(sp, a) != _infinite_series(sp, b):
        return False  # no summation of series: a series equals only a series (bounded work)
    free = a.free_symbols | b.free_symbols
    from mwpbench.grading.numeric import apart  # imports SymPy: only where comparisons run

    if apart(a, b, next(_sample_points(sp, free))):
        return False
    if a.is_infinite or b.is_infinite:
        return bool(a == b)
    if not free:
        return _constants_equal(sp, a, b)
    return _symbolic_equal(sp, a - b, b, free)


def _infinite_series(sp: Any, expr: Any) -> bool:
    """An unevaluated sum or product with an infinite bound (a power series answer)."""
    return any(
        any(bound.is_infinite for limit in node.limits for bound in limit[1:])
        for node in expr.atoms(sp.Sum, sp.Product)
    )


def _symbolic_equal(sp: Any, d: Any, scale: Any, free: set[Any]) -> bool:
    """d == 0 identically? Exact at rational points where d is rational there (no tolerance
    at all), else at 60 digits; points on both sides of zero (|x| and x differ at x < 0)."""
    if d == 0:
        return True
    if not d.free_symbols:
        return _constants_equal(sp, d, sp.Integer(0))
    checked = 0
    for point in _sample_points(sp, free):
        if checked >= _SAMPLE_POINTS:
            break
        value = d.xreplace(point)
        if value.is_Rational:
            if value != 0:
                return False
            checked += 1
            continue
        if value.has(sp.zoo, sp.nan) or value.is_infinite:
            continue
        if not _negligible(sp, value, scale.xreplace(point)):
            return False
        checked += 1
    return checked >= 2


def _sample_points(sp: Any, free: set[Any]) -> Iterator[dict[Any, Any]]:
    """The fixed pseudo-random rational points, on both sides of zero, that an identity is
    checked at (the first one is also where `numeric.apart` looks)."""
    rng = random.Random(20240307)
    symbols = sorted(free, key=str)
    for _ in range(_SAMPLE_POINTS * 3):
        yield {x: sp.Rational(rng.choice((-1, 1)) * rng.randint(11, 97), rng.randint(7, 23)) for x in symbols}


def _constants_equal(sp: Any, a: Any, b: Any) -> bool:
    """Exact constants: an exact nonzero difference is never equal (no tolerance); an
    unsimplified one (log_2 8 - 3) must vanish to 45 digits at 60-digit precision."""
    d = a - b
    if d == 0:
        return True
    if d.is_Rational:
        return False
    return _negligible(sp, d, b)


def _negligible(sp: Any, d: Any, scale: Any) -> bool:
    """|d| below 1e-45 of max(1, |scale|), computed at 60 digits in SymPy Floats (whose
    exponent range is unbounded: 10^400 does not overflow to inf)."""
    try:
        dv = sp.N(d, 60)
        sv = sp.N(scale, 60)
        if dv.has(sp.nan, sp.zoo) or sv.has(sp.nan, sp.zoo) or not dv.is_finite:
            return False
        return bool(sp.Abs(dv) <= sp.Float("1e-45", 60) * sp.Max(1, sp.Abs(sv)))
    except (TypeError, ValueError, OverflowError, AttributeError):
        return False


def _sample_values(sp: Any, expr: Any, free: set[Any], scale: Any = None) -> list[complex]:
    """Values of `expr` at a few fixed pseudo-random rational points (relative to `scale`)."""
    rng = random.Random(20240307)
    symbols = sorted(free, key=str)
    values: list[complex] = []
    for _ in range(_SAMPLE_POINTS * 2):
        if len(values) >= _SAMPLE_POINTS:
            break
        point = {s: sp.Rational(rng.randint(11, 97), rng.randint(7, 23)) for s in symbols}
        v = _numeric(sp, expr.xreplace(point))
        if v is None:
            continue
        if scale is not None:
            s = _numeric(sp, scale.xreplace(point))
            if s is None:
                continue
            v = v / max(1.0, abs(s))
        values.append(v)
    return values
