"""Extraction and normalization run in the caller's process, outside the workers' time
limit, so they must stay linear in the completion's length whatever its shape. Each hostile
completion must come back as a Verdict inside the limit (2 s here) plus the contract's second
and slack for a busy machine; before brace matching was one linear pass, 20,000 unclosed
boxes took over a minute."""

from __future__ import annotations

import time

import pytest

import mwpbench
from mwpbench.grading.extract import extract

LIMIT = 2.0
BUDGET = LIMIT + 1.0 + 2.5  # the contract plus slack for a loaded 2-core machine

HOSTILE = {
    "unclosed boxes": "\\boxed{" * 20_000,
    "nested boxes": "\\boxed{" * 5_000 + "1" + "}" * 5_000,
    "closed boxes joined by and": "\\boxed{1} and " * 20_000,
    "unclosed text commands in a box": "\\boxed{" + "\\text{" * 20_000 + "}",
    "unclosed fractions in a box": "\\boxed{" + "\\frac{" * 20_000 + "}",
    "nested envelopes": "\\boxed{" + "$\\boxed{" * 3_000 + "1" + "}$" * 3_000 + "}",
    "answer phrase then boxes": "The answer is " + "\\boxed{" * 20_000,
    "many answer phrases": "the answer is 1. " * 20_000,
    "many hashes": "#### 1\n" * 30_000,
    "open braces": "{" * 200_000,
    "dollars": "$" * 100_000,
    "final answer header lines": "Final Answer:\n" * 20_000,
    "answers that are prose": "the answer is a b c d e f. " * 20_000,
    "dollar signs before numbers": "$12 and $" * 20_000,
    "closing sentences": "So she has 5 apples, so " * 20_000,
    "parenthesised asides": "(note 1) " * 20_000,
    "equation chain": "$" + "1 = " * 20_000 + "3$",
    "unclosed display environments": "\\begin{align*}" * 20_000,
    "code fences": "```python\n" * 20_000,
    "markdown headings": "#### Step one\n" * 20_000,
    "continuation markers": "12\nQ: " * 20_000,
    "numbered list": "1. " * 20_000,
    # patterns that once backtracked exponentially on a few hundred characters
    "a long word after an equals sign": "\\boxed{x = " + "a" * 3_000 + "!}",
    "spaced words after an equals sign": "\\boxed{x = " + "\\and " * 600 + "1}",
    "a ratio of many named parts": "\\boxed{" + "S_{1} : " * 300 + "S_{1}( = 5}",
    "a ratio of many angles": "\\boxed{" + "\\angle A : " * 300 + "( = 5}",
    "a ratio of many cosines": "\\boxed{" + "\\cos a : " * 300 + "( = 5}",
    "list marks then a letter": "#" * 20_000 + "a",
    "a number then many letters": "\\boxed{1" + "a" * 190 + "{}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_completion_returns_inside_the_limit(name: str) -> None:
    completion = HOSTILE[name]
    start = time.monotonic()
    extract(completion)
    verdict = mwpbench.grade(completion, "2", timeout=LIMIT)
    official = mwpbench.grade(completion, "2", grader="official")
    elapsed = time.monotonic() - start
    assert elapsed < BUDGET, f"{name}: {elapsed:.1f}s"
    assert verdict.correct is False and official.correct is False


def test_a_box_around_a_box_is_one_answer_not_a_list() -> None:
    assert extract(r"so \boxed{\boxed{7}}").answer == "7"
    assert mwpbench.grade(r"\boxed{\boxed{7}}", "7").correct is True


@pytest.mark.parametrize("unit", ["S_{1} : ", "\\angle A : ", "\\cos a : ", "m \\angle A : ", "a:"])
def test_reading_a_long_left_side_as_a_label_is_fast(unit: str) -> None:
    from mwpbench.grading.parse import label_of

    start = time.monotonic()
    assert label_of(unit * 40 + "(") is None and label_of(unit * 8 + "(") is None
    assert time.monotonic() - start < 1.0
    assert label_of((unit * 3).rstrip(": ")) is not None  # the short ratio is still a label
