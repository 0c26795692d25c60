"""Words around a number: how many, and of what.

"6 thousand", "2.5 million", "3万" (scale words), "5 h 38 min" (a duration), "十二个" (a
Chinese numeral), "12 square units", "3 red marbles" (a unit or a counted noun after the
number). `read_quantity` turns them into a number `parse` reads and the unit `compare` may
drop or convert. Anchored regexes on short strings: linear on any input.
"""

from __future__ import annotations

import re
from fractions import Fraction

from mwpbench.grading.units import UNITS, canonical_unit, unit_info

MAX_QUANTITY = 200  # characters: a longer answer is not "a number and its unit"

# "6 thousand", "2.5 million", "3万": a number times a scale word (plural too: "7 thousands")
_SCALE_WORDS = {
    "hundred": 2,
    "thousand": 3,
    "million": 6,
    "billion": 9,
    "trillion": 12,
    "万": 4,
    "亿": 8,
}
_SCALE = re.compile(
    r"^(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?:(?P<word>hundred|thousand|million|billion|trillion)s?"
    r"(?![a-zA-Z])|(?P<cjk>万|亿))\s*(?P<rest>.*)$",
    re.IGNORECASE,
)

# "5 h 38 min", "2 hours and 30 minutes", "3 min 20 s": one duration, in its smaller unit
_HOURS = r"(?:h|hrs?|hours?|小时)"
_MINUTES = r"(?:\\?min|mins|minutes?|分钟?)"
_SECONDS = r"(?:s|secs?|seconds?|秒)"
_DURATION = re.compile(
    rf"^(?P<a>\d+(?:\.\d+)?)\s*(?:{_HOURS}\s*,?\s*(?:and\s+)?(?P<m>\d+(?:\.\d+)?)\s*{_MINUTES}"
    rf"|{_MINUTES}\s*,?\s*(?:and\s+)?(?P<s>\d+(?:\.\d+)?)\s*{_SECONDS})$",
    re.IGNORECASE,
)

# Chinese numerals, alone or before a counting word or unit: 三 = 3, 十二个 = 12, 一百零五 = 105
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10**4, "亿": 10**8}
_CN_COUNTERS = "个只人名种次条本张块辆棵岁天页位支件台根双对组层杯瓶箱盒袋头匹颗朵把片间座所"
_CN_NUMERAL = re.compile(
    "^([零〇一二两三四五六七八九十百千万亿]+)((?:["
    + _CN_COUNTERS
    + "]|"
    + "|".join(sorted((u for u in UNITS if re.match(r"[\u4e00-\u9fff]", u)), key=len, reverse=True))
    + ")?)$"
)

_WORD_UNIT = re.compile(
    r"^(?P<num>.*?[\d}).\w])\s*(?P<unit>(?:[a-zA-Zℓ][a-zA-Zℓ.]*\s+){0,2}[a-zA-Zℓ]+\.?"
    r"(?:\s*\^\s*\{?[23]\}?|[23])?(?:\s*/\s*[a-zA-Z]+)?|[\u4e00-\u9fff]{1,4})$"
)
# words after a number that make it something other than a quantity with a unit
_NOT_UNIT_WORDS = {
    "or", "and", "to", "than", "more", "less", "fewer", "times", "plus", "minus", "of", "the", "is",
    "are", "at", "least", "most", "about", "approximately", "between", "not", "no", "only",
    "each", "over", "under", "out", "divided", "by", "if", "when", "for", "in", "on", "with",
}  # fmt: skip
_CJK = re.compile(r"[\u4e00-\u9fff]")


def names_something_else(words: str) -> bool:
    """Words after a number that are not its unit: "or more", "times 4", "and 6"."""
    return any(w in _NOT_UNIT_WORDS for w in words.lower().replace(".", " ").split())


def is_scale_word(text: str) -> bool:
    """ "million", "thousands", "万": a scale that multiplies the number before it."""
    return _SCALE.match("1 " + text.strip()) is not None


def read_quantity(s: str, unit: str | None, *, peel: bool) -> tuple[str, str | None]:
    """(number text, unit) of a normalized answer: Chinese numerals become digits, a
    duration becomes minutes or seconds, a scale word a power of ten, and (when `peel`) a
    unit word after the number is split off. Anything else comes back unchanged."""
    if (
        not s.isascii()
        and (numeral := _CN_NUMERAL.match(s))
        and (value := chinese_numeral(numeral[1])) is not None
    ):
        s = f"{value} {numeral[2]}".strip()
    if (duration := _DURATION.match(s)) is not None:
        first, second = Fraction(duration["a"]), Fraction(duration["m"] or duration["s"])
        total = first * 60 + second
        text = str(total) if total.denominator == 1 else f"{total.numerator}/{total.denominator}"
        return text, "min" if duration["m"] else "s"
    if (mixed := mixed_number(s)) is not None:
        return mixed, unit
    if (scaled := _scale_word(s)) is not None:
        return scaled[0], unit or scaled[1]
    if peel and s and len(s) < MAX_QUANTITY:
        return _peel_word_unit(s)
    return s, unit


def duration_hours(s: str) -> Fraction | None:
    """ "2 hours and 15 minutes" -> 9/4: an hours-and-minutes duration in hours (read_quantity
    gives it in minutes); None for anything else."""
    duration = _DURATION.match(s.strip().rstrip("."))
    if duration is None or not duration["m"]:
        return None
    return Fraction(duration["a"]) + Fraction(duration["m"]) / 60


def _scale_word(s: str) -> tuple[str, str | None] | None:
    """ "6 thousand" -> 6\\times10^{3}; "2.5 million dollars" -> (2.5\\times10^{6}, dollar);
    "3万元" -> 3\\times10^{4}. The scientific form keeps the precision the words were
    written to (2.5 million is 2.5 rounded at 0.1 million). None: not a scaled number."""
    m = _SCALE.match(s)
    if m is None:
        return None
    rest = m["rest"].strip()
    unit = None
    if rest:
        peeled, unit = _peel_word_unit(m["num"] + " " + rest)
        if peeled != m["num"]:
            return None  # "6 thousand 5 hundred": not a number followed by a unit
    word = (m["word"] or m["cjk"]).lower()
    return f"{m['num']}\\times10^{{{_SCALE_WORDS[word]}}}", unit


# "3 hundred 40", "2 thousand 5 hundred and 6": digits between scale words, one whole number
_MIXED = re.compile(
    r"^\d{1,3}(?:\s+(?:and\s+)?(?:\d{1,3}|(?:hundred|thousand|million|billion)(?![a-zA-Z])))+$",
    re.IGNORECASE,
)


def mixed_number(s: str) -> str | None:
    """ "3 hundred 40" -> "340", "1 million 200 thousand" -> "1200000"; None unless two or
    more numbers and the scale words between them make one number, largest scale first
    ("6 thousand" alone is a scale word's job: it keeps the precision it was written to)."""
    if _MIXED.match(s) is None:
        return None
    tokens = [t for t in s.lower().split() if t != "and"]
    if sum(t.isdigit() for t in tokens) < 2:
        return None
    total = current = 0
    last: str | int | None = None  # "num", or the size of the last scale word
    big = None  # the last scale above a hundred: the next one must be smaller
    for token in tokens:
        if token.isdigit():
            value = int(token)
            if last == "num" or (isinstance(last, int) and value >= last):
                return None  # "3 40", "3 hundred 400": not one number
            current += value
            last = "num"
            continue
        size = 10 ** _SCALE_WORDS[token]
        if last != "num" or (size == 100 and current >= 100):
            return None  # "hundred 3", "3 hundred 4 hundred"
        if size == 100:
            current *= 100
        else:
            if big is not None and size >= big:
                return None  # "5 thousand 3 million"
            total, current, big = total + current * size, 0, size
        last = size
    return str(total + current)


# 一 alone is also "a" (一个人, 一次): only a numeral of two characters or more starts with it
_CN_COUNTED = re.compile(
    "(?<![第零〇一二两三四五六七八九十百千万亿])"
    "([零〇二两三四五六七八九十百千万亿][零〇一二两三四五六七八九十百千万亿]*|一[零〇一二两三四五六七八九十百千万亿]+)"
    "(?=[" + _CN_COUNTERS + "])"
)


def chinese_counts_to_digits(s: str) -> str:
    """ "至少需要六辆车" -> "至少需要6辆车": in a Chinese sentence without digits, a numeral
    before a counting word becomes digits (never after 第: 第三个 is an ordinal)."""
    if s.isascii() or re.search(r"\d", s) or not _CJK.search(s):
        return s

    def digits(m: re.Match[str]) -> str:
        value = chinese_numeral(m[1])
        return m[0] if value is None else str(value)

    return _CN_COUNTED.sub(digits, s)


def chinese_numeral(text: str) -> int | None:
    """Value of a Chinese numeral ("十二" -> 12, "两千零五" -> 2005); None when `text` is not
    one (digits side by side such as "一二" are not a numeral)."""
    total = wan = section = number = 0  # above 亿, the 万 part, below 万, the last digit
    previous_digit = False
    for ch in text:
        if ch in _CN_DIGITS:
            if previous_digit and number != 0:
                return None
            number, previous_digit = _CN_DIGITS[ch], True
            continue
        previous_digit = False
        if ch in _CN_UNITS:
            section += (number or 1) * _CN_UNITS[ch]
        elif ch == "万":
            wan += (section + number) * _CN_BIG[ch]
            section = 0
        elif ch == "亿":
            total = (total + wan + section + number) * _CN_BIG[ch]
            wan = section = 0
        else:
            return None
        number = 0
    return total + wan + section + number


def _peel_word_unit(s: str) -> tuple[str, str | None]:
    """'5 cm' -> ('5', 'cm'); '12 square units' -> ('12', None); '12 apples' -> ('12',
    'apples'); leaves expressions and phrases ('5 or more', '3 times 4') alone."""
    m = _WORD_UNIT.match(s) if len(s) < MAX_QUANTITY else None  # the pattern is cubic
    if m is None:
        return s, None
    num, unit = m.group("num").strip(), m.group("unit").strip()
    label, _, value = num.rpartition("=")  # "AB = 5 cm", "面积=24平方厘米": the value's unit
    if not re.fullmatch(r"[+-]?[\d.,/{}\\a-z]*\d[\d.,/{}\\a-z]*", value.strip()) or re.search(
        r"[a-z]", value.replace("\\frac", "")
    ):  # the number part holds letters (an expression such as 2x): keep as is
        return s, None
    if label and label.count("=") == 0 and len(label) <= 20:
        peeled, unit_name = _peel_word_unit(value.strip() + " " + unit)
        return (label.rstrip() + "=" + peeled, unit_name) if peeled == value.strip() else (s, None)
    if label:
        return s, None
    num = num.rstrip(".") if num.count(".") > 1 else num  # "4.4. dollars"
    canonical = canonical_unit(unit)
    if canonical is None:  # "square units": no unit at all
        return num, None
    if unit_info(canonical) is not None:  # a known unit
        return num, canonical
    low = unit.lower()
    if _CJK.match(low):  # a Chinese counting word or unit: "12 种", "3 个", "18 名", "5 元"
        return num, low
    words = low.replace(".", " ").split()
    if any(w in _NOT_UNIT_WORDS for w in words) or any(len(w) < 3 for w in words):
        return s, None
    if all(w.isalpha() for w in words):  # a counted noun: "12 apples", "3 red marbles"
        return num, canonical
    return s, None
