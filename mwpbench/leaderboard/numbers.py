"""One rounding rule for every number the site shows, in Python and in static/fmt.js.

A value is rounded half away from zero on its shortest decimal form (Python's ``repr``,
JavaScript's ``String``: the same digits), so 0.125 -> 0.13, 66.665 -> 66.67 and
0.0005 -> 0.001 on both sides. (Python's ``round``/``format`` and JavaScript's ``toFixed``
round the binary value instead, and disagree with each other on ties such as 0.125.)
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

NONE = "–"  # what a missing value is shown as


def rounded(value: float, digits: int = 1) -> Decimal:
    """`value` rounded to `digits` decimals, half away from zero, as a Decimal."""
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt(value: float | None, digits: int = 1) -> str:
    """`value` with `digits` decimals (the shared rule), or an en dash for no value."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return NONE
    text = f"{rounded(value, digits):f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.0"
