"""Answer text -> canonical text plus what was peeled off (unit, percent, degrees, currency).

Pure string work with linear-time regexes: safe on hostile model output of any length.
The canonical text is what the fast string-equality path compares and what `parse` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

# A unit: (dimension, scale to the dimension's base unit). Comparing 5 cm with 0.05 m is a
# value comparison; 5 cm with 5 m is a scale change and is wrong. Dropping a unit is fine.
UNITS: dict[str, tuple[str, Fraction]] = {}


def _units(dimension: str, scale: Fraction | int | str, *names: str) -> None:
    for name in names:
        UNITS[name] = (dimension, Fraction(scale))


_units("length", "1/1000", "mm", "millimeter", "millimeters", "millimetre", "millimetres")
_units("length", "1/100", "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_units("length", "1/10", "dm", "decimeter", "decimeters")
_units("length", 1, "m", "meter", "meters", "metre", "metres")
_units("length", 1000, "km", "kilometer", "kilometers", "kilometre", "kilometres")
_units("length", "127/5000", "in", "inch", "inches")
_units("length", "381/1250", "ft", "foot", "feet")
_units("length", "1143/1250", "yd", "yard", "yards")
_units("length", "201168/125", "mi", "mile", "miles")
_units("area", "1/10000", "cm^2", "cm2", "sq cm", "square centimeters")
_units("area", 1, "m^2", "m2", "sq m", "square meters", "square metres")
_units("area", 1000000, "km^2", "km2", "square kilometers")
_units("area", "16129/25000000", "in^2", "square inches", "sq in")
_units("area", "145161/1562500", "ft^2", "square feet", "sq ft")
_units("area", 10000, "hectare", "hectares", "ha")
_units("volume", "1/1000000", "cm^3", "cm3", "cubic centimeters", "ml", "milliliter", "milliliters")
_units("volume", "1/1000", "l", "ℓ", "liter", "liters", "litre", "litres", "dm^3")
_units("volume", 1, "m^3", "m3", "cubic meters")
_units("mass", "1/1000", "mg", "milligram", "milligrams")
_units("mass", 1, "g", "gram", "grams")
_units("mass", 1000, "kg", "kilogram", "kilograms")
_units("mass", 1000000, "t", "ton", "tons", "tonne", "tonnes")
_units("mass", "45359237/100000", "lb", "lbs", "pound", "pounds")
_units("mass", "45359237/1600000", "oz", "ounce", "ounces")
_units("time", 1, "s", "sec", "secs", "second", "seconds")
_units("time", 60, "min", "mins", "minute", "minutes")
_units("time", 3600, "h", "hr", "hrs", "hour", "hours")
_units("time", 86400, "day", "days")
_units("time", 604800, "week", "weeks")
_units("money", 1, "dollar", "dollars", "usd", "yuan", "元", "rmb", "euro", "euros")
_units("money", "1/100", "cent", "cents")
_units("speed", 1, "m/s")
_units("speed", "5/18", "km/h", "kmh", "km/hr")
_units("speed", "1397/3125", "mph", "miles per hour")
_units("angle", 1, "deg", "degree", "degrees", "°")
_units("angle", 0, "rad", "radian", "radians")  # scale 0: converted via pi, see compare
_units("percent", 1, "%", "percent")

# LaTeX spacing and sizing commands that never change a value
_DROP = re.compile(
    r"(?<!\\)\\(?:left|right|big|Big|bigg|Bigg|displaystyle|textstyle|scriptstyle|!|,|;|:| )"
    r"(?![a-zA-Z])"
)
_TEXT_CMD = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname|textnormal)\s*\{"
)
_DEG = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\{\s*\}\s*\\circ|\^\s*\\circ|\\circ|°|\\degree")
_TRIG_DEG = re.compile(
    r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z]).*?(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°)"
)
_TRIG_DEG_VALUE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°)")
_PERCENT = re.compile(r"\\%|%|％")
_DOLLAR_SIGN = re.compile(r"\\\$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_LATEX_THOUSANDS = re.compile(r"(?<=\d)\{,\}(?=\d{3})|(?<=\d)\\,(?=\d{3})")
_QUAD = re.compile(r"\\(?:q?quad|space|enspace)(?![a-zA-Z])")
_FONT = re.compile(r"\\(?:rm|bf|it|sf|tt)(?![a-zA-Z])")
_APPROX = re.compile(r"^\s*(?:\\approx|\\sim|≈)\s*")
_UNIT_GROUP = r"\\(?:mathrm|text|textrm|mbox)\s*\{[^{}]*\}(?:\s*\^\s*\{?\s*[23]\s*\}?)?"
_LATEX_UNIT = re.compile(
    r"^(?P<body>.*?[\d}.])\s*(?P<unit>"
    + _UNIT_GROUP
    + r"(?:\s*(?:/|\\cdot|-|\s)\s*"
    + _UNIT_GROUP
    + r")*)\s*$"
)
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\d|[a-zA-Z](?![a-zA-Z]))")
_FRAC_SHORT = re.compile(r"\\frac\s*(\d|[a-zA-Z](?![a-zA-Z]))\s*(\d|[a-zA-Z](?![a-zA-Z]))")
_BRACED_THOUSANDS = re.compile(r"(?<=\{)\d{1,3}(?:,\d{3})+(?=\})")
_DANGLING = re.compile(r"\s+(?:or|and)$")
_TRAILING_PUNCT = re.compile(r"[\s.;:,。．，]+$")
_WORD_UNIT = re.compile(
    r"^(?P<num>.*?[\d}).\w])\s*(?P<unit>(?:square |sq |cubic )?[a-zA-Zℓ]+(?:\^\{?[23]\}?|[23])?(?:/[a-zA-Z]+)?"
    r"|[\u4e00-\u9fff]{1,3})$"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_NORMALIZE = 20_000  # characters of an answer that are normalized
_MAX_LAYERS = 8  # nested envelopes ($\\boxed{$...$}$) peeled at most
_ENVELOPE = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical answer text and the markers peeled off it."""

    text: str
    unit: str | None = None  # a key of UNITS, or another word that followed the number
    raw: str = ""


def brace_matches(text: str) -> dict[int, int]:
    """Index of the matching '}' for every '{' that has one (escaped braces skipped), in one
    linear pass: looking groups up here keeps hostile texts (20,000 unclosed `\\boxed{`)
    linear where scanning from each opening brace would be quadratic."""
    matches: dict[int, int] = {}
    stack: list[int] = []
    escaped = False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            stack.append(i)
        elif c == "}" and stack:
            matches[stack.pop()] = i
    return matches


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
    return s


_FRAC_ARG = re.compile(r"\s*(\\[a-zA-Z]+|[0-9a-zA-Z])")


def brace_frac_args(s: str) -> str:
    """`\\frac1{2x}`, `\\frac{\\sqrt6}3`, `\\frac \\pi4` -> every \\frac argument braced."""
    out: list[str] = []
    pos = 0
    matches = brace_matches(s)
    while (i := s.find("\\frac", pos)) != -1:
        j = i + 5
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
                m = _FRAC_ARG.match(s, j)
                if m is None:
                    break
                args.append("{" + m.group(1) + "}")
                j = m.end()
        out.append("".join(args))
        pos = j
    out.append(s[pos:])
    return "".join(out)


def normalize(text: str) -> Normalized:
    """Canonicalize one answer (gold or extracted prediction)."""
    raw = text
    if len(text) > MAX_NORMALIZE:  # no answer is this long: compared as it stands
        return Normalized(text=" ".join(text.split()), unit=None, raw=raw)
    s = strip_envelope(text)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = _DROP.sub("", s)
    s = _QUAD.sub(" ", s)
    s = _FONT.sub(" ", s)
    s = s.replace("\\&", " and ").replace("或", " or ").replace("和", " and ")
    s = _APPROX.sub("", s)
    latex_unit = None
    if (m := _LATEX_UNIT.match(s)) is not None:
        s = m.group("body")
        latex_unit = _TEXT_CMD.sub("", m.group("unit")).replace("}", "").replace("~", "")
        latex_unit = " ".join(latex_unit.split()).lower() or None
    s = _unwrap_commands(s, _TEXT_CMD)
    s = s.replace("~", " ")
    s = s.replace("$", " ") if "\\$" not in s else s
    s = s.replace("\\le ", "\\leq ").replace("\\ge ", "\\geq ")
    s = s.replace("≤", "\\leq ").replace("≥", "\\geq ").replace("−", "-").replace("×", "\\times ")
    s = s.replace("π", "\\pi ").replace("∞", "\\infty ").replace("√", "\\sqrt")
    s = _LATEX_THOUSANDS.sub("", s)
    s = _BRACED_THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), s)
    if "#" in s:  # "\frac{3}{10} \#\# 0.3": two spellings of one value
        s = re.split(r"\\?#\s*\\?#", s, maxsplit=1)[0].strip()
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    if "\\frac" in s:
        s = brace_frac_args(s)
    unit: str | None = None
    if _TRIG_DEG.search(s):  # \sin 30^\circ: degrees inside a function are converted
        s = _TRIG_DEG_VALUE.sub(r"(\1\\pi/180)", s)
    if _DEG.search(s):
        s = _DEG.sub("", s)
        unit = "deg"
    if _PERCENT.search(s):
        s = _PERCENT.sub("", s)
        unit = "%"
    if _DOLLAR_SIGN.search(s):
        s = _DOLLAR_SIGN.sub("", s)
        unit = unit or "dollar"
    s = s.replace("$", "")
    s = " ".join(s.split())
    s = _TRAILING_PUNCT.sub("", s)
    s = _DANGLING.sub("", s).strip()  # "3 或" -> "3 or" -> "3"
    if unit is None and latex_unit is not None:
        unit = latex_unit.replace(" ", "")
    if unit is None and s and len(s) < 200:
        s, unit = _peel_word_unit(s)
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


_REPEATING = re.compile(r"([+-]?)(\d*)\.(\d*)\\overline\s*\{?\s*(\d+)\s*\}?")


def _repeating_fraction(m: re.Match[str]) -> str:
    sign, whole, fixed, period = m.group(1), m.group(2) or "0", m.group(3), m.group(4)
    value = Fraction(int(whole)) + Fraction(int(fixed or "0"), 10 ** len(fixed))
    value += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return f"{sign}{value.numerator}/{value.denominator}"


def _peel_word_unit(s: str) -> tuple[str, str | None]:
    """'5 cm' -> ('5', 'cm'); '12 apples' -> ('12', 'apples'); leaves expressions alone."""
    m = _WORD_UNIT.match(s)
    if m is None:
        return s, None
    num, unit = m.group("num").strip(), m.group("unit")
    low = unit.lower()
    if not re.fullmatch(r"[+-]?[\d.,/{}\\a-z]*\d[\d.,/{}\\a-z]*", num) or re.search(
        r"[a-z]", num.replace("\\frac", "")
    ):
        # the number part holds letters (an expression such as 2x): keep as is
        return s, None
    num = num.rstrip(".") if num.count(".") > 1 else num  # "4.4. dollars"
    if low in UNITS or low.rstrip("s") in UNITS:
        return num, low if low in UNITS else low.rstrip("s")
    if _CJK.match(low):  # a Chinese counting word or unit: "12 种", "3 个", "18 名", "5 元"
        return num, low
    if len(low) >= 3 and low.isalpha():  # a counted noun: "12 apples", "3 students"
        return num, low
    return s, None


_SPACE = re.compile(r"(?<![\w}]) | (?![\w\\{])")


def squeeze(text: str) -> str:
    """Lower-cased, spaces dropped except between two words or numbers ('3 1/2' keeps one)."""
    return _SPACE.sub("", text.replace("  ", " ")).lower()
