"""Unit words -> (dimension, scale): which units an answer may drop and which it may convert.

Comparing 5 cm with 0.05 m is a value comparison; 5 cm with 5 m is a scale change and is
wrong; dropping a unit is fine (DESIGN.md). `canonical_unit` spells every way of writing a
unit one way ("square centimeters", "sq cm", "cm^{2}", "cm2", "平方厘米" -> "cm^2") and
`unit_info` gives its dimension and its scale to the dimension's base unit.
"""

from __future__ import annotations

import re
from fractions import Fraction

# name -> (dimension, scale to the dimension's base unit). Areas and volumes are powers of
# a length ("length^2"), so "square feet" and "ft^2" and "平方米" meet in one dimension.
UNITS: dict[str, tuple[str, Fraction]] = {}
_CANON: dict[tuple[str, Fraction], str] = {}  # (dimension, scale) -> its first name


def _units(dimension: str, scale: Fraction | int | str, *names: str) -> None:
    key = (dimension, Fraction(scale))
    _CANON.setdefault(key, names[0])
    for name in names:
        UNITS[name] = key


_units("length", "1/1000", "mm", "millimeter", "millimeters", "millimetre", "millimetres", "毫米")
_units("length", "1/100", "cm", "centimeter", "centimeters", "centimetre", "centimetres", "厘米")
_units("length", "1/10", "dm", "decimeter", "decimeters", "decimetre", "decimetres", "分米")
_units("length", 1, "m", "meter", "meters", "metre", "metres", "米")
_units("length", 1000, "km", "kilometer", "kilometers", "kilometre", "kilometres", "千米", "公里")
_units("length", "127/5000", "in", "inch", "inches")
_units("length", "381/1250", "ft", "foot", "feet")
_units("length", "1143/1250", "yd", "yard", "yards")
_units("length", "201168/125", "mi", "mile", "miles")
_units("length^2", 10000, "ha", "hectare", "hectares", "公顷")
_units("length^2", "4046.8564224", "acre", "acres")
_units(
    "length^3",
    "1/1000000",
    "ml",
    "milliliter",
    "milliliters",
    "millilitre",
    "millilitres",
    "cc",
    "毫升",
)
_units("length^3", "1/1000", "l", "ℓ", "liter", "liters", "litre", "litres", "升")
_units("mass", "1/1000", "mg", "milligram", "milligrams", "毫克")
_units("mass", 1, "g", "gram", "grams", "克")
_units("mass", 1000, "kg", "kilogram", "kilograms", "千克", "公斤")
_units("mass", 1000000, "t", "ton", "tons", "tonne", "tonnes", "吨")
_units("mass", "45359237/100000", "lb", "lbs", "pound", "pounds")
_units("mass", "45359237/1600000", "oz", "ounce", "ounces")
_units("time", 1, "s", "sec", "secs", "second", "seconds", "秒")
_units("time", 60, "min", "mins", "minute", "minutes", "分钟")
_units("time", 3600, "h", "hr", "hrs", "hour", "hours", "小时")
_units("time", 86400, "day", "days", "天")
_units("time", 604800, "week", "weeks", "周", "星期")
_units("money", 1, "dollar", "dollars", "usd", "yuan", "元", "rmb", "euro", "euros")
_units("money", "1/100", "cent", "cents")
_units("speed", 1, "m/s", "meters per second", "metres per second")
_units("speed", "5/18", "km/h", "kmh", "km/hr", "kph", "kilometers per hour", "km per hour")
_units("speed", "1397/3125", "mph", "miles per hour", "mi/h")
_units("angle", 1, "deg", "degree", "degrees", "°", "度")
_units("angle", 0, "rad", "radian", "radians")  # scale 0: converted via pi, see compare
_units("percent", 1, "%", "percent")


def _powers_of_lengths() -> None:
    """Areas and volumes of every length unit under the names answers use ("cm^2", "cm2",
    "sq cm", "square centimeters", "cubic feet"), so that a lookup by name finds them."""
    lengths = [(name, key[1]) for name, key in UNITS.items() if key[0] == "length"]
    for name, scale in lengths:
        if not name.isascii():
            continue
        if len(name) <= 2:  # a symbol: cm^2, cm2, sq cm, cm^3, cm3
            spellings = {2: [f"{name}^2", f"{name}2", f"sq {name}"], 3: [f"{name}^3", f"{name}3"]}
        else:  # a word: square centimeters, cubic centimeters
            spellings = {2: [f"square {name}"], 3: [f"cubic {name}"]}
        for n, names in spellings.items():
            for spelling in names:
                UNITS.setdefault(spelling, (f"length^{n}", scale**n))


_powers_of_lengths()

# "units", "square units", "cubic units": no dimension at all, dropped like a missing unit
GENERIC = {"unit", "units", "u"}
_POWER_WORDS = {"square": 2, "sq": 2, "cubic": 3, "cu": 3}
_POWER_SUFFIX = {"squared": 2, "cubed": 3}
_CJK_POWER = {"平方": 2, "立方": 3}
_POWER = re.compile(r"^(?P<base>.+?)\s*(?:\^\s*\{?\s*(?P<n>[23])\s*\}?|(?P<m>[23]))$")


def canonical_unit(text: str) -> str | None:
    """One spelling per unit ("Square Centimeters" -> "cm^2", "degrees" -> "deg"); None for
    an empty or generic unit ("square units"). Unknown words come back lower-cased."""
    u = " ".join(text.replace("{", " ").replace("}", " ").replace("~", " ").split()).lower()
    u = u.replace(". ", " ").rstrip(".")
    if not u:
        return None
    power = 1
    words = u.split(" ")
    if len(words) > 1 and words[0].rstrip(".") in _POWER_WORDS:
        power, u = _POWER_WORDS[words[0].rstrip(".")], " ".join(words[1:])
    elif len(words) > 1 and words[-1] in _POWER_SUFFIX:
        power, u = _POWER_SUFFIX[words[-1]], " ".join(words[:-1])
    elif u[:2] in _CJK_POWER and len(u) > 2:
        power, u = _CJK_POWER[u[:2]], u[2:]
    elif (m := _POWER.match(u)) is not None and _lookup(m["base"]) is not None:
        power, u = int(m["n"] or m["m"]), m["base"]
    if u in GENERIC or u.rstrip("s") in GENERIC:
        return None
    info = _lookup(u)
    if info is None:
        return u if power == 1 else f"{u}^{power}"
    name = _CANON[info]
    return name if power == 1 else f"{name}^{power}"


def _lookup(name: str) -> tuple[str, Fraction] | None:
    if name in UNITS:
        return UNITS[name]
    if len(name) > 3 and name.endswith("s") and name[:-1] in UNITS:
        return UNITS[name[:-1]]
    return None


def unit_info(unit: str | None) -> tuple[str, Fraction] | None:
    """(dimension, scale) of a canonical unit; None when it is not a known unit."""
    if not unit:
        return None
    if unit in UNITS:
        return UNITS[unit]
    m = _POWER.match(unit)
    if m is not None:
        base = UNITS.get(m["base"])
        if base is not None and base[0] == "length":
            n = int(m["n"] or m["m"])
            return f"length^{n}", base[1] ** n
    return None
