"""Are two SymPy values certainly different? Rigorous float intervals, no symbolic work.

`apart(a, b, point)` encloses the values of `a` and `b` at `point` (symbols -> exact
rationals) in intervals of floats rounded outwards after every operation (a few ulps more
after library functions), real and imaginary parts apart (`I` and square roots of negative
numbers; other functions of real arguments only), and says True only when the enclosures
are disjoint by more than 1e-40 of max(1, |b|). That is far above the 60-digit tolerance
`compare` uses, so "apart" never contradicts its symbolic verdict; it only decides the
non-equal pairs (most pairs) without SymPy's evaluation. Anything the enclosure does not
cover (other complex values, poles, unknown functions, overflow) gives False: "not known to
differ", and the caller carries on."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = ["apart", "enclose_real"]

Interval = tuple[float, float]

_INF = math.inf
_LIBM_ULPS = 4  # widening after a math-library function (glibc documents <= 1-2 ulps)
_MAX_POWER = 4096  # integer exponents evaluated by squaring
_NARROW = 1e-6  # widest argument of a periodic function that is evaluated
_GAP = 1e-40  # disjointness needed, relative to max(1, |b|)


class _Unknown(Exception):
    """The value is not enclosed here."""


def apart(a: Any, b: Any, point: dict[Any, Any]) -> bool:
    """True when `a` and `b` certainly have different real values at `point`."""
    try:
        va, vb = _enclose(a, point), _enclose(b, point)
    except Exception:  # _Unknown, overflow, a domain error, an object that is not a number
        return False
    im_a, im_b = va[1] or _ZERO, vb[1] or _ZERO
    scale = max(1.0, max(abs(vb[0][0]), abs(vb[0][1])) + max(abs(im_b[0]), abs(im_b[1])))
    gap = max(va[0][0] - vb[0][1], vb[0][0] - va[0][1], im_a[0] - im_b[1], im_b[0] - im_a[1])
    return gap > _GAP * scale


def enclose_real(e: Any) -> Interval | None:
    """Floats certainly around the real constant `e` (±oo as themselves); None when the
    enclosure does not cover it (symbols, complex values, unknown functions)."""
    if e is sp.S.Infinity or e is sp.S.NegativeInfinity:
        return (_INF, _INF) if e is sp.S.Infinity else (-_INF, -_INF)
    try:
        real, imaginary = _enclose(e, {})
    except Exception:
        return None
    return real if imaginary is None or imaginary == _ZERO else None


def _widen(lo: float, hi: float, ulps: int = 1) -> Interval:
    for _ in range(ulps):
        lo, hi = math.nextafter(lo, -_INF), math.nextafter(hi, _INF)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise _Unknown
    return lo, hi


def _exact(value: float) -> Interval:
    return _widen(value, value, 1)


def _rational(p: int, q: int) -> Interval:
    value = p / q  # correctly rounded
    return (value, value) if Fraction(value) == Fraction(p, q) else _exact(value)


def _add(x: Interval, y: Interval) -> Interval:
    return _widen(x[0] + y[0], x[1] + y[1])


def _mul(x: Interval, y: Interval) -> Interval:
    products = (x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])
    return _widen(min(products), max(products))


def _inverse(x: Interval) -> Interval:
    if x[0] <= 0.0 <= x[1]:
        raise _Unknown  # a pole
    return _widen(1.0 / x[1], 1.0 / x[0])


def _power_int(x: Interval, n: int) -> Interval:
    if abs(n) > _MAX_POWER:
        raise _Unknown
    if n < 0:
        return _inverse(_power_int(x, -n))
    result: Interval = (1.0, 1.0)
    base = x
    while n:
        if n & 1:
            result = _mul(result, base)
        n >>= 1
        if n:
            base = _square(base)
    return result


def _square(x: Interval) -> Interval:
    if x[0] >= 0.0:
        return _widen(x[0] * x[0], x[1] * x[1])
    if x[1] <= 0.0:
        return _widen(x[1] * x[1], x[0] * x[0])
    return _widen(0.0, max(x[0] * x[0], x[1] * x[1]))


def _monotone(f: Any, x: Interval, increasing: bool = True) -> Interval:
    lo, hi = f(x[0]), f(x[1])
    return _widen(lo, hi, _LIBM_ULPS) if increasing else _widen(hi, lo, _LIBM_ULPS)


def _power_real(x: Interval, y: Interval) -> Interval:
    """x**y for x > 0 (monotone in each argument): the extremes are at the corners."""
    if x[0] <= 0.0:
        raise _Unknown  # a negative base with a fractional exponent is complex there
    corners = [math.pow(a, b) for a in x for b in y]
    return _widen(min(corners), max(corners), _LIBM_ULPS)


def _periodic(f: Any, slope: Any, x: Interval) -> Interval:
    """sin or cos on a narrow interval without a turning point."""
    if x[1] - x[0] > _NARROW or abs(slope((x[0] + x[1]) / 2)) < _NARROW:
        raise _Unknown
    lo, hi = f(x[0]), f(x[1])
    return _widen(min(lo, hi), max(lo, hi), _LIBM_ULPS)


def _tan(x: Interval) -> Interval:
    if x[1] - x[0] > _NARROW or abs(math.cos((x[0] + x[1]) / 2)) < _NARROW:
        raise _Unknown
    return _monotone(math.tan, x)


def _in_domain(x: Interval, lo: float, hi: float) -> Interval:
    if not (lo < x[0] and x[1] < hi):
        raise _Unknown  # outside the real domain (complex there) or at its edge
    return x


def _abs(x: Interval) -> Interval:
    if x[0] >= 0.0:
        return x
    if x[1] <= 0.0:
        return -x[1], -x[0]
    return 0.0, max(-x[0], x[1])


def _cosh(x: Interval) -> Interval:
    a = _abs(x)
    return _monotone(math.cosh, a)


_FUNCTIONS: dict[Any, Any] = {
    sp.exp: lambda x: _monotone(math.exp, x),
    sp.sin: lambda x: _periodic(math.sin, math.cos, x),
    sp.cos: lambda x: _periodic(math.cos, math.sin, x),
    sp.tan: _tan,
    sp.cot: lambda x: _inverse(_tan(x)),
    sp.sec: lambda x: _inverse(_periodic(math.cos, math.sin, x)),
    sp.csc: lambda x: _inverse(_periodic(math.sin, math.cos, x)),
    sp.asin: lambda x: _monotone(math.asin, _in_domain(x, -1.0, 1.0)),
    sp.acos: lambda x: _monotone(math.acos, _in_domain(x, -1.0, 1.0), increasing=False),
    sp.atan: lambda x: _monotone(math.atan, x),
    sp.acot: lambda x: _monotone(math.atan, _inverse(x)),  # SymPy's acot(x) is atan(1/x)
    sp.sinh: lambda x: _monotone(math.sinh, x),
    sp.cosh: _cosh,
    sp.tanh: lambda x: _monotone(math.tanh, x),
    sp.asinh: lambda x: _monotone(math.asinh, x),
    sp.acosh: lambda x: _monotone(math.acosh, _in_domain(x, 1.0, _INF)),
    sp.atanh: lambda x: _monotone(math.atanh, _in_domain(x, -1.0, 1.0)),
    sp.Abs: _abs,
}


def _log(x: Interval) -> Interval:
    return _monotone(math.log, _in_domain(x, 0.0, _INF))


# complex values: (real part, imaginary part); None for an imaginary part that is exactly 0
Value = tuple[Interval, "Interval | None"]
_ZERO: Interval = (0.0, 0.0)


def _real(v: Value) -> Interval:
    if v[1] is not None:
        raise _Unknown  # a function of a complex argument: not enclosed here
    return v[0]


def _neg(x: Interval) -> Interval:
    return -x[1], -x[0]


def _c_add(x: Value, y: Value) -> Value:
    im = None if x[1] is None and y[1] is None else _add(x[1] or _ZERO, y[1] or _ZERO)
    return _add(x[0], y[0]), im


def _c_mul(x: Value, y: Value) -> Value:
    if x[1] is None and y[1] is None:
        return _mul(x[0], y[0]), None
    a, b, c, d = x[0], x[1] or _ZERO, y[0], y[1] or _ZERO
    return _add(_mul(a, c), _neg(_mul(b, d))), _add(_mul(a, d), _mul(b, c))


def _c_inverse(x: Value) -> Value:
    if x[1] is None:
        return _inverse(x[0]), None
    a, b = x[0], x[1]
    scale = _inverse(_add(_square(a), _square(b)))
    return _mul(a, scale), _neg(_mul(b, scale))


def _c_power_int(x: Value, n: int) -> Value:
    if x[1] is None:
        return _power_int(x[0], n), None
    if abs(n) > _MAX_POWER:
        raise _Unknown
    if n < 0:
        return _c_inverse(_c_power_int(x, -n))
    result: Value = ((1.0, 1.0), None)
    base = x
    while n:
        if n & 1:
            result = _c_mul(result, base)
        n >>= 1
        if n:
            base = _c_mul(base, base)
    return result


def _enclose(e: Any, point: dict[Any, Any]) -> Value:
    if e.is_Integer:
        n = int(e)
        value = float(n)
        return ((value, value) if abs(n) <= 2**53 else _exact(value)), None
    if e.is_Rational:
        return _rational(int(e.p), int(e.q)), None
    if e.is_Float:
        return _exact(float(e)), None
    if e.is_Symbol:
        if e not in point:
            raise _Unknown
        return _enclose(point[e], point)
    if e is sp.pi:
        return _exact(math.pi), None
    if e is sp.E:
        return _exact(math.e), None
    if e is sp.I:
        return _ZERO, (1.0, 1.0)
    if e.is_Add:
        total = _enclose(e.args[0], point)
        for arg in e.args[1:]:
            total = _c_add(total, _enclose(arg, point))
        return total
    if e.is_Mul:
        product = _enclose(e.args[0], point)
        for arg in e.args[1:]:
            product = _c_mul(product, _enclose(arg, point))
        return product
    if e.is_Pow:
        return _pow(e.args[0], e.args[1], point)
    if isinstance(e, sp.log):
        logarithm = _log(_real(_enclose(e.args[0], point)))
        if len(e.args) == 2:
            logarithm = _mul(logarithm, _inverse(_log(_real(_enclose(e.args[1], point)))))
        return logarithm, None
    if isinstance(e, sp.factorial):
        arg = e.args[0]
        if not (arg.is_Integer and 0 <= int(arg) <= 170):
            raise _Unknown
        return _exact(float(math.factorial(int(arg)))), None
    f = _FUNCTIONS.get(e.func)
    if f is None or len(e.args) != 1:
        raise _Unknown
    return f(_real(_enclose(e.args[0], point))), None


def _pow(base: Any, exponent: Any, point: dict[Any, Any]) -> Value:
    if exponent.is_Integer:
        return _c_power_int(_enclose(base, point), int(exponent))
    if base is sp.E:
        return _monotone(math.exp, _real(_enclose(exponent, point))), None
    x = _real(_enclose(base, point))
    if exponent == sp.S.Half:
        if x[0] >= 0.0:
            return _widen(math.sqrt(x[0]), math.sqrt(x[1])), None
        if x[1] < 0.0:  # the principal root of a negative number: i sqrt(|x|)
            return _ZERO, _widen(math.sqrt(-x[1]), math.sqrt(-x[0]))
        raise _Unknown
    return _power_real(x, _real(_enclose(exponent, point))), None
