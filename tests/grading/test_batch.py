"""grade_items: the one grading loop (runs, regrade, `grade FILE`)."""

from __future__ import annotations

import pytest

from mwpbench.errors import UnknownNameError
from mwpbench.grading import grade
from mwpbench.grading.batch import grade_items

# (completion, gold, strict correct, official correct): the official matcher accepts x+10
# for x+1 (a substring), strict does not
ITEMS = [
    ("The answer is 5.", "5", True, True),
    ("The answer is x+10.", "x+1", False, True),
    ("So we get \\boxed{\\frac{1}{2}}.", "0.5", True, True),
    ("I give up.", "7", False, False),
    ("The answer is 2\\sqrt{2}.", "\\sqrt{8}", True, False),
] * 3


def _items():
    return ({"completion": c, "gold": g} for c, g, _, _ in ITEMS)


def test_both_graders_in_input_order():
    out = list(grade_items(_items(), jobs=1))
    assert [list(v) for v in out] == [["strict", "official"]] * len(ITEMS)
    assert [v["strict"].correct for v in out] == [s for _, _, s, _ in ITEMS]
    assert [v["official"].correct for v in out] == [o for _, _, _, o in ITEMS]
    for (completion, gold, _, _), v in zip(ITEMS, out):
        assert v["strict"] == grade(completion, gold)
        assert v["official"] == grade(completion, gold, grader="official")


def test_one_grader_only():
    official = list(grade_items(_items(), graders=("official",)))
    assert [list(v) for v in official] == [["official"]] * len(ITEMS)
    assert [v["official"].correct for v in official] == [o for _, _, _, o in ITEMS]
    strict = list(grade_items(_items(), graders=("strict",), jobs=1))
    assert [list(v) for v in strict] == [["strict"]] * len(ITEMS)


def test_unknown_grader_is_refused_before_any_work():
    with pytest.raises(UnknownNameError, match="did you mean 'strict'|Did you mean 'strict'"):
        grade_items(iter(()), graders=("strikt",))


def test_the_graders_are_closed_and_said_once():
    import mwpbench
    from mwpbench import registry
    from mwpbench.metrics import GRADER_FIELDS
    from mwpbench.types import GRADERS

    assert GRADERS == ("strict", "official")
    assert tuple(GRADER_FIELDS) == GRADERS  # every grader's verdict has its sample field
    assert not hasattr(registry, "GRADERS")  # no table that looks like a plug-in point
    with pytest.raises(UnknownNameError, match="Did you mean 'official'"):
        mwpbench.grade("5", "5", grader="oficial")
    with pytest.raises(UnknownNameError, match="Did you mean 'official'"):
        list(mwpbench.grade_many([{"completion": "5", "gold": "5"}], grader="oficial"))
