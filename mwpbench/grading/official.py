"""The official MWPBench fuzzy grader, reproduced verdict for verdict (`grader="official"`).

Published MWPBench numbers were produced by MathScale's string matcher (`is_correct` /
`is_equiv` over a MATH-style `strip`). This module re-implements that behaviour from the
written spec in ``shared/OFFICIAL_GRADER.md``, quirks included: substring matching
(``x+10`` is accepted for ``x+1``), commas deleted everywhere (``(12,3)`` is accepted for
``(1,23)``), ``0.5`` and ``A/B`` rewritten to ``\\frac``, and so on. It is NOT the strict
grader; use it only to reproduce published numbers.

Public functions:

- `strip_string(s)`: the spec's ``strip``; raises `StripError` exactly where the spec says
  the original raises (three ``\\text{ `` parts, ``\\sqrt`` or ``\\frac`` at the end).
- `is_number(s)`, `is_equiv(pred, ref)`, `is_correct(completion, answer)`: the spec's
  functions under their original names.
- `grade_official(completion, gold, **_ignored) -> Verdict`: what `grade(grader="official")`
  calls. It never raises; extra keyword arguments (``task=``, ``finish_reason=``, ...) are
  ignored.

Readings chosen where the spec is open (see the tests for each):

- ``\\sqrt`` and ``\\frac`` shorthand work piece by piece: the text is split on the macro
  name and each piece (the text up to the next occurrence) is fixed on its own, so an
  empty piece (the macro at the very end, or directly followed by the same macro) raises.
- A ``\\boxed{`` without a matching ``}`` yields no content; if no ``\\boxed{`` has one,
  extraction goes on to the next step.
- Step 5's "strip a leading ':'" removes one colon.
- ``is_correct`` returns the extracted answer (not stripped) as ``clean_pred``.
- When ``strip`` raises on the gold (step 2), the prediction is still extracted, with
  ``ref_is_number`` False (such a gold is never a number), and judged by raw equality
  ``pred == ref`` of the lower-cased strings; `is_correct` then returns ``clean_ref=None``
  and `grade_official` sets ``detail="official_fallback: gold strip raised"``.
"""

from __future__ import annotations

import logging
import re
from typing import NamedTuple

from mwpbench.types import Status, Verdict

__all__ = [
    "FAILED_EXTRACTION",
    "GOLD_FALLBACK_DETAIL",
    "PRED_FALLBACK_DETAIL",
    "StripError",
    "grade_official",
    "is_correct",
    "is_equiv",
    "is_number",
    "strip_string",
]

logger = logging.getLogger(__name__)

FAILED_EXTRACTION = "failed extracting answer from completion"
"""`is_correct`'s `clean_pred` when no extraction step applies (spec step 7)."""

GOLD_FALLBACK_DETAIL = "official_fallback: gold strip raised"
"""`Verdict.detail` when the gold could not be stripped and raw equality decided."""

PRED_FALLBACK_DETAIL = "official_fallback: is_equiv raised, raw strings compared"


class StripError(ValueError):
    """`strip_string` cannot normalize this text (where the original code would crash)."""


# --------------------------------------------------------------------------- strip

# Step 1: ((A)/(B)) with A, B runs of digits. Linear: fixed delimiters around \d+ runs.
_PAREN_FRAC = re.compile(r"\(\((\d+)\)/\((\d+)\)\)")


def _paren_frac_repl(match: re.Match[str]) -> str:
    # A literal TWO backslashes, as the original writes it; step 3 turns them into one.
    return "\\\\frac{" + match[1] + "}{" + match[2] + "}"


def _remove_right_units(s: str) -> str:
    """Step 6: keep what precedes ``\\text{ `` (with the space); three parts or more raise."""
    if "\\text{ " not in s:
        return s
    parts = s.split("\\text{ ")
    if len(parts) != 2:
        raise StripError(f"{len(parts)} parts around '\\text{{ '")
    return parts[0]


def _fix_sqrt(s: str) -> str:
    """Step 10: ``\\sqrt3`` -> ``\\sqrt{3}``; an empty piece after ``\\sqrt`` raises."""
    if "\\sqrt" not in s:
        return s
    pieces = s.split("\\sqrt")
    out = [pieces[0]]
    for piece in pieces[1:]:
        if not piece:
            raise StripError("'\\sqrt' with nothing after it")
        if piece[0] != "{":
            out.append("\\sqrt{" + piece[0] + "}" + piece[1:])
        else:
            out.append("\\sqrt" + piece)
    return "".join(out)


def _fix_fracs(s: str) -> str:
    """Step 12: ``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{2}`` -> ``\\frac{1}{2}``.

    A piece of exactly one character returns the whole input unchanged; an empty piece
    (``\\frac`` at the very end) raises.
    """
    pieces = s.split("\\frac")
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append("\\frac")
        if not piece:
            raise StripError("'\\frac' with nothing after it")
        if piece[0] == "{":
            out.append(piece)
            continue
        if len(piece) < 2:
            return s
        a, b, rest = piece[0], piece[1], piece[2:]
        if b != "{":
            out.append("{" + a + "}{" + b + "}" + rest)
        else:
            out.append("{" + a + "}" + b + rest)
    return "".join(out)


def _fix_a_slash_b(s: str) -> str:
    """Step 14: exactly ``A/B`` with integers whose ``str`` round-trips -> ``\\frac{A}{B}``."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    if s != f"{a}/{b}":
        return s
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def strip_string(s: str) -> str:
    """Normalize an answer string exactly as the official grader's ``strip`` (14 steps).

    Raises `StripError` (a `ValueError`) where the original crashes: more than two parts
    around ``\\text{ `` (step 6), ``\\sqrt`` at the very end (step 10), ``\\frac`` at the
    very end (step 12). Nothing else raises for a `str` input.
    """
    # 1. ((A)/(B)) -> \\frac{A}{B}
    s = _PAREN_FRAC.sub(_paren_frac_repl, s)
    # 2. commas, newlines, \!
    s = s.replace(",", "").replace("\n", "").replace("\\!", "")
    # 3. \\ -> \
    s = s.replace("\\\\", "\\")
    # 4. tfrac/dfrac -> frac; \left, \right
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    # 5. degrees, \$
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    # 6. units on the right
    s = _remove_right_units(s)
    # 7. \%
    s = s.replace("\\%", "")
    # 8. leading zeros for bare decimals
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    # 9. short left-hand side of a single "="
    parts = s.split("=")
    if len(parts) == 2 and len(parts[0]) <= 2:
        s = parts[1]
    # 10. \sqrt shorthand
    s = _fix_sqrt(s)
    # 11. \quad and spaces
    s = s.replace("\\quad", " ").replace(" ", "")
    # 12. \frac shorthand
    s = _fix_fracs(s)
    # 13. 0.5
    if s == "0.5":
        s = "\\frac{1}{2}"
    # 14. A/B
    return _fix_a_slash_b(s)


# ----------------------------------------------------------------------- compare


def is_number(s: object) -> bool:
    """True if `s` with ``$`` stripped from both ends parses with Python's int() or float().

    So "nan", "inf", "1e5", " 7 " and "1_000" are numbers. Non-strings are not.
    """
    if not isinstance(s, str):
        return False
    t = s.strip("$")
    try:
        int(t)
        return True
    except ValueError:
        pass
    try:
        float(t)
        return True
    except ValueError:
        return False


# Rule 2: a single inline math span. Anchored at the start, one pass: linear.
_INLINE_MATH = re.compile(r"^\$[^$]+\$$")


def _compare(cp: str, cr: str) -> bool:
    """The five rules of is_equiv, on stripped strings; the first that applies decides."""
    if is_number(cp) and is_number(cr):
        return float(cp.strip("$")) == float(cr.strip("$"))
    if _INLINE_MATH.match(cr):
        return cr.strip("$") in cp.strip("$")
    no_minus = not cp.startswith("-") and not cr.startswith("-")
    if len(cp) >= 3 and not is_number(cp) and no_minus and cp in cr:
        return True
    if len(cr) >= 3 and not is_number(cr) and no_minus and cr in cp:
        return True
    return cp == cr


def _is_equiv(pred: str | None, ref: str | None) -> tuple[bool, bool]:
    """(verdict, fell_back): fell_back is True when raw `pred == ref` decided."""
    if pred is None and ref is None:
        logger.warning("official is_equiv: both prediction and reference are None")
        return True, False
    if pred is None or ref is None:
        return False, False
    try:
        return _compare(strip_string(pred), strip_string(ref)), False
    except Exception:  # the spec: if anything raises, fall back to raw equality
        return pred == ref, True


def is_equiv(pred: str | None, ref: str | None) -> bool:
    """The official answer comparison: strip both, then the first applicable rule.

    Both None -> True (logged), one None -> False; if anything raises, `pred == ref`.
    """
    return _is_equiv(pred, ref)[0]


# ------------------------------------------------------------------------ extract

_BOXED = "\\boxed{"
_BRACES = re.compile(r"[{}]")
_NUMBER = re.compile(r"[\-+]?\d*[\.,/]?\d+")


def _last_boxed(text: str) -> str | None:
    """Step 3: the content of the last ``\\boxed{`` that has a matching ``}``, stripped.

    Braces are matched once over the whole text with a stack (linear time); for a given
    ``{`` this finds the same ``}`` as counting forward from it.
    """
    starts: list[int] = []
    i = text.find(_BOXED)
    while i >= 0:
        starts.append(i + len(_BOXED) - 1)  # position of the "{"
        i = text.find(_BOXED, i + len(_BOXED))
    if not starts:
        return None
    closing: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACES.finditer(text, starts[0]):
        if m[0] == "{":
            stack.append(m.start())
        elif stack:
            closing[stack.pop()] = m.start()
    for open_pos in reversed(starts):
        close_pos = closing.get(open_pos)
        if close_pos is not None:
            return text[open_pos + 1 : close_pos].strip()
    return None


def _clean_tail(text: str) -> str:
    """Steps 5/6: tidy the text that follows "answer is" / "solution is" / "is"."""
    text = text.strip()
    if text.startswith(":"):
        text = text[1:]
    text = text.strip()
    text = text.split(".\n", 1)[0]
    text = text.strip()
    text = text.strip(".")
    if text.endswith("."):  # never true after strip("."); kept as the spec words it
        text = text[:-1]
    return text.strip()


def _extract(completion: str, ref_is_number: bool) -> tuple[str | None, str]:
    """Steps 3-7 on the lower-cased completion: (extracted answer, step that fired).

    The step is one of "boxed", "last_number", "answer_is", "solution_is", "is", "none"
    ("none": step 7, nothing applies).
    """
    boxed = _last_boxed(completion)
    if boxed is not None:
        return boxed, "boxed"
    if ref_is_number:
        last = None
        for m in _NUMBER.finditer(completion):
            last = m[0]
        return last, "last_number"
    if "answer is" in completion:
        return _clean_tail(completion.split("answer is")[-1]), "answer_is"
    if "solution is" in completion:
        return _clean_tail(completion.split("solution is")[-1]), "solution_is"
    if "is" in completion:
        return _clean_tail(completion.rsplit("is", 1)[-1]), "is"
    return None, "none"


class _Outcome(NamedTuple):
    judge: bool
    clean_pred: str | None
    clean_ref: str | None
    extracted: str | None
    step: str
    gold_fallback: bool
    pred_fallback: bool


def _evaluate(completion: str, answer: str) -> _Outcome:
    """The whole of the spec's is_correct, with what the Verdict needs on the side."""
    completion = completion.lower()
    answer = answer.lower()
    try:
        clean_ref: str | None = strip_string(answer)
        ref_is_number = is_number(clean_ref)
        gold_fallback = False
    except StripError:
        # The official driver crashes here; we grade by `pred == ref` and say so.
        logger.warning("official grader: strip raised on gold %r; raw equality used", answer)
        clean_ref, ref_is_number, gold_fallback = None, False, True
    extracted, step = _extract(completion, ref_is_number)
    if step == "none":
        return _Outcome(False, FAILED_EXTRACTION, clean_ref, None, step, gold_fallback, False)
    if gold_fallback:
        judge, pred_fallback = extracted is not None and extracted == answer, False
    else:
        judge, pred_fallback = _is_equiv(extracted, answer)
    return _Outcome(judge, extracted, clean_ref, extracted, step, gold_fallback, pred_fallback)


def is_correct(completion: str, answer: str) -> tuple[bool, str | None, str | None]:
    """(judge, clean_pred, clean_ref) as the official grader computes them.

    `clean_pred` is the extracted answer (None when the last-number step found none,
    `FAILED_EXTRACTION` when no step applied); `clean_ref` is ``strip(answer.lower())``,
    or None when that raised and the item was judged by raw equality.
    """
    out = _evaluate(completion, answer)
    return out.judge, out.clean_pred, out.clean_ref


# -------------------------------------------------------------------------- grade


def grade_official(completion: str, gold: str, **_ignored: object) -> Verdict:
    """Grade one completion as the official MWPBench grader would. Never raises.

    Extra keyword arguments (``task``, ``finish_reason``, ``choices``, ``timeout``) are
    accepted and ignored: `grade()` calls both graders the same way.
    """
    try:
        completion = completion if isinstance(completion, str) else _as_text(completion)
        gold = gold if isinstance(gold, str) else _as_text(gold)
        out = _evaluate(completion, gold)
    except Exception as exc:  # pragma: no cover - defensive: model text must never raise
        logger.exception("official grader failed")
        return Verdict(
            correct=False,
            status="parse_error",
            rule="none",
            method="official",
            detail=f"official grader failed: {type(exc).__name__}",
        )
    rule = out.step if out.extracted is not None else "none"
    status: Status
    if rule == "none":
        status = "no_answer"
    else:
        status = "correct" if out.judge else "incorrect"
    if out.gold_fallback:
        detail: str | None = GOLD_FALLBACK_DETAIL
    elif out.pred_fallback:
        detail = PRED_FALLBACK_DETAIL
    elif rule == "none":
        detail = FAILED_EXTRACTION
    else:
        detail = None
    return Verdict(
        correct=status == "correct",
        status=status,
        extracted=out.extracted,
        rule=rule,
        method="official",
        detail=detail,
    )


def _as_text(value: object) -> str:
    return "" if value is None else str(value)
