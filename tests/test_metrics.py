"""Metrics against values computed by hand."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from mwpbench.metrics import (
    accuracy,
    compare_records,
    compute_metrics,
    k_values,
    macro,
    majority_vote,
    mcnemar_exact,
    pass_at_k,
)

approx = pytest.approx


def rec(task, pid, correct, *, subset=None, official=None, status=None, finish="stop",
        index=0, extracted=None):
    return {
        "task": task, "id": pid, "subset": subset or task, "sample_index": index,
        "correct": correct, "official_correct": correct if official is None else official,
        "status": status or ("correct" if correct else "incorrect"), "finish_reason": finish,
        "extracted": extracted,
    }  # fmt: skip


def frac_equal(a: str, b: str) -> bool:
    return Fraction(a) == Fraction(b)


def test_accuracy_binomial_stderr():
    block = accuracy([1, 0, 1, 1])
    assert block == {"accuracy": 0.75, "n": 4, "correct": 3,
                     "stderr": approx(math.sqrt(0.75 * 0.25 / 4))}  # fmt: skip
    assert accuracy([]) == {"accuracy": None, "n": 0, "correct": 0, "stderr": None}
    assert accuracy([1, 1])["stderr"] == 0.0


def test_macro_is_unweighted_mean_with_propagated_stderr():
    blocks = [{"accuracy": 0.2, "stderr": 0.3}, {"accuracy": 0.6, "stderr": 0.4}]
    assert macro(blocks) == {"accuracy": approx(0.4), "n": 2, "stderr": approx(0.25)}


def test_micro_macro_subsets_and_side_counts():
    # task a: 3 items over two subsets (a.x: 2 of 2 right; a.y: 0 of 1), task b: 1 of 4
    records = [
        rec("a", "a1", True, subset="a.x"),
        rec("a", "a2", True, subset="a.x", official=False),
        rec("a", "a3", False, subset="a.y", status="no_answer", finish="length"),
        rec("b", "b1", True),
        rec("b", "b2", False, status="timeout"),
        rec("b", "b3", False, status="error", finish="error"),
        rec("b", "b4", False, official=True, finish="length"),
    ]
    m = compute_metrics(records, task_order=["b", "a"])
    strict = m["strict"]
    assert list(strict["datasets"]) == ["b", "a"]
    a, b = strict["datasets"]["a"], strict["datasets"]["b"]
    assert (a["accuracy"], a["n"], a["correct"]) == (approx(2 / 3), 3, 2)
    assert a["stderr"] == approx(math.sqrt(2 / 3 * 1 / 3 / 3))
    assert a["subsets"]["a.x"] == {"accuracy": 1.0, "n": 2, "correct": 2, "stderr": 0.0}
    assert a["subsets"]["a.y"]["accuracy"] == 0.0
    assert b["subsets"] == {}  # b's only subset is itself
    assert (b["accuracy"], b["n"]) == (0.25, 4)
    # micro pools the 7 items (3 right); macro averages 2/3 and 1/4
    assert strict["micro"]["accuracy"] == approx(3 / 7) and strict["micro"]["n"] == 7
    assert strict["macro"]["accuracy"] == approx((2 / 3 + 1 / 4) / 2)
    assert strict["macro"]["stderr"] == approx(math.sqrt(a["stderr"] ** 2 + b["stderr"] ** 2) / 2)
    # official: a2 wrong, b4 right -> a 1/3, b 2/4
    official = m["official"]
    assert official["datasets"]["a"]["accuracy"] == approx(1 / 3)
    assert official["datasets"]["b"]["accuracy"] == 0.5
    assert m["disagreements"] == {"b": 1, "a": 1, "total": 2}
    assert m["truncation_rate"] == {"b": 0.25, "a": approx(1 / 3)}
    assert m["status_counts"]["b"] == {"correct": 1, "incorrect": 1, "no_answer": 0,
                                       "parse_error": 0, "timeout": 1, "error": 1}  # fmt: skip
    assert m["status_counts"]["a"]["no_answer"] == 1
    assert m["pass_at_k"] is None and m["maj_at_k"] is None


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (4, 0, 4, 0.0),
        (4, 4, 1, 1.0),
        (4, 1, 1, 0.25),
        (3, 1, 3, 1.0),
        (2, 1, 5, 1.0),  # k > n: pass@n
    ],
)
def test_pass_at_k_unbiased(n, c, k, expected):
    assert pass_at_k(n, c, k) == approx(expected)


def test_k_values():
    assert k_values(1) == [1]
    assert k_values(4) == [1, 2, 4]
    assert k_values(6) == [1, 2, 4, 6]


def test_majority_groups_by_equivalence_not_string():
    votes = [
        {"extracted": "3", "correct": False},
        {"extracted": "1/2", "correct": True},
        {"extracted": "0.5", "correct": True},
        {"extracted": "3", "correct": False},
        {"extracted": "2/4", "correct": True},
    ]
    assert majority_vote(votes, frac_equal) is True  # 1/2 = 0.5 = 2/4: three votes
    assert majority_vote(votes, lambda a, b: False) is False  # by string "3" has two
    tie = [{"extracted": "4", "correct": False}, {"extracted": "5", "correct": True}]
    assert majority_vote(tie, frac_equal) is False  # a tie goes to the first answer
    assert majority_vote([{"extracted": None, "correct": False}], frac_equal) is False


def test_majority_with_the_real_equivalence():
    votes = [{"extracted": "3", "correct": False}, {"extracted": "\\frac{1}{2}", "correct": True},
             {"extracted": "0.5", "correct": True}]  # fmt: skip
    from mwpbench.metrics import _default_equivalent

    assert majority_vote(votes, _default_equivalent()) is True


def test_sampling_metrics_pass_and_maj():
    p1 = [("7", False), ("5", True), ("7", False), ("9", False)]  # gold 5
    p2 = [("3", False), ("1/2", True), ("0.5", True), ("2/4", True)]  # gold 1/2
    records = [rec("t", "p1", c, index=i, extracted=e) for i, (e, c) in enumerate(p1)]
    records += [rec("t", "p2", c, index=i, extracted=e) for i, (e, c) in enumerate(p2)]
    m = compute_metrics(records, equivalent=frac_equal)
    t = m["strict"]["datasets"]["t"]
    # item scores 1/4 and 3/4: mean 1/2, population variance 1/16, stderr sqrt(1/16/2)
    assert t["accuracy"] == 0.5 and t["n"] == 2 and t["correct"] == 1
    assert t["stderr"] == approx(math.sqrt(1 / 32))
    assert list(m["pass_at_k"]) == ["1", "2", "4"]
    assert m["pass_at_k"]["1"]["datasets"]["t"]["accuracy"] == 0.5
    # pass@2: p1 1 - C(3,2)/C(4,2) = 1/2, p2 1 - C(1,2)/C(4,2) = 1
    assert m["pass_at_k"]["2"]["datasets"]["t"]["accuracy"] == approx(0.75)
    assert m["pass_at_k"]["4"]["micro"]["accuracy"] == 1.0
    assert list(m["maj_at_k"]) == ["2", "4"]
    # maj@2: p1 7 vs 5 tie -> 7 (wrong); p2 3 vs 1/2 tie -> 3 (wrong)
    assert m["maj_at_k"]["2"]["datasets"]["t"]["accuracy"] == 0.0
    # maj@4: p1 7 wins (wrong); p2 1/2 = 0.5 = 2/4 wins (right)
    assert m["maj_at_k"]["4"]["datasets"]["t"]["accuracy"] == 0.5


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 0, 1.0),
        (0, 5, 2 / 32),  # 2 * C(5,0) / 2^5
        (1, 9, 22 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2^10
        (9, 1, 22 / 1024),
        (5, 5, 1.0),
        (2, 3, 1.0),
    ],
)
def test_mcnemar_exact(b, c, p):
    assert mcnemar_exact(b, c) == approx(p)


def test_compare_records_pairs_by_id_and_lists_flips():
    a = [rec("t", "p1", True), rec("t", "p2", False), rec("t", "p3", True), rec("u", "q1", True),
         rec("t", "only_a", True)]  # fmt: skip
    b = [rec("t", "p1", False), rec("t", "p2", True), rec("t", "p3", True), rec("u", "q1", True)]
    cmp = compare_records(a, b)
    t = cmp["datasets"]["t"]
    assert (t["n"], t["accuracy_a"], t["accuracy_b"], t["delta"]) == (3, 2 / 3, 2 / 3, 0.0)
    assert (t["a_only"], t["b_only"], t["p_value"]) == (1, 1, 1.0)
    assert [(f["id"], f["a"], f["b"]) for f in t["flipped"]] == [("p1", True, False),
                                                               ("p2", False, True)]
    assert cmp["datasets"]["u"]["flipped"] == []
    assert cmp["micro"]["n"] == 4
    assert (cmp["unpaired_a"], cmp["unpaired_b"]) == (1, 0)
