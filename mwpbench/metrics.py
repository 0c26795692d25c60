"""Metrics: pure functions over per-sample records (the lines of samples.jsonl).

MWPBench definitions: a dataset's accuracy is over all its items (MATH and CollegeMath are
therefore size-weighted over their subsets); micro pools every evaluated item; macro is the
unweighted mean of the dataset accuracies. Every accuracy comes with n and a standard error.

With several samples per problem (n > 1) an item's score is the fraction of its samples that
are correct (= unbiased pass@1), the standard error is that of the mean of item scores, and
`pass_at_k` (unbiased estimator) and `maj_at_k` (answers grouped by equivalence, not by
string) are added. Errors (failed generations) and timeouts count as not correct and are
counted apart in `status_counts`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Record = Mapping[str, Any]
Equivalent = Callable[[str, str], bool]

GRADER_FIELDS: dict[str, str] = {"strict": "correct", "official": "official_correct"}
"""grader name (one of types.GRADERS) -> the sample field holding its verdict."""

STATUSES = ("correct", "incorrect", "no_answer", "parse_error", "timeout", "error")


# --- accuracies ----------------------------------------------------------------------------


def accuracy(scores: Sequence[float]) -> dict[str, Any]:
    """{"accuracy", "n", "correct", "stderr"} of per-item scores in [0, 1].

    stderr = sqrt(var / n) with the population variance of the scores: for 0/1 scores this
    is the binomial sqrt(p(1-p)/n). An empty list has accuracy and stderr None.
    """
    n = len(scores)
    if n == 0:
        return {"accuracy": None, "n": 0, "correct": 0, "stderr": None}
    total = math.fsum(scores)
    p = total / n
    var = math.fsum((s - p) ** 2 for s in scores) / n
    correct: float | int = int(round(total)) if abs(total - round(total)) < 1e-9 else total
    return {"accuracy": p, "n": n, "correct": correct, "stderr": math.sqrt(max(var, 0.0) / n)}


def macro(dataset_blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Unweighted mean of dataset accuracies; stderr = sqrt(sum of their stderr^2) / D."""
    accs = [b for b in dataset_blocks if b.get("accuracy") is not None]
    d = len(accs)
    if d == 0:
        return {"accuracy": None, "n": 0, "stderr": None}
    mean = math.fsum(b["accuracy"] for b in accs) / d
    se = math.sqrt(math.fsum(b["stderr"] ** 2 for b in accs)) / d
    return {"accuracy": mean, "n": d, "stderr": se}


def _task_order(records: Iterable[Record], task_order: Sequence[str] | None) -> list[str]:
    seen = dict.fromkeys(task_order or ())
    for r in records:
        seen.setdefault(r["task"], None)
    return list(seen)


def _items(records: Iterable[Record]) -> dict[tuple[str, str], list[Record]]:
    """(task, problem id) -> its sample records (sorted by sample_index), in first-seen order."""
    items: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        items.setdefault((r["task"], r["id"]), []).append(r)
    for samples in items.values():
        samples.sort(key=lambda r: r.get("sample_index", 0))
    return items


def score_block(
    items: Mapping[tuple[str, str], Sequence[Record]],
    score: Callable[[Sequence[Record]], float],
    task_order: Sequence[str],
) -> dict[str, Any]:
    """{"datasets": {task: {..accuracy.., "subsets": {...}}}, "micro", "macro"} for one
    per-item score function. A dataset lists subsets unless its only subset is itself."""
    by_task: dict[str, list[float]] = defaultdict(list)
    by_subset: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (task, _pid), samples in items.items():
        s = score(samples)
        by_task[task].append(s)
        by_subset[task][samples[0].get("subset") or task].append(s)
    datasets: dict[str, Any] = {}
    everything: list[float] = []
    for task in task_order:
        if task not in by_task:
            continue
        subsets = by_subset[task]
        block = accuracy(by_task[task])
        block["subsets"] = (
            {}
            if list(subsets) == [task]
            else {name: accuracy(subsets[name]) for name in sorted(subsets)}
        )
        datasets[task] = block
        everything.extend(by_task[task])
    return {
        "datasets": datasets,
        "micro": accuracy(everything),
        "macro": macro(list(datasets.values())),
    }


def _fraction(field: str) -> Callable[[Sequence[Record]], float]:
    def score(samples: Sequence[Record]) -> float:
        return sum(1 for r in samples if r.get(field)) / len(samples)

    return score


# --- sampling: pass@k and maj@k ------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one item with n samples of which c are correct (Chen et al. 2021):
    1 - C(n-c, k) / C(n, k). With k > n, pass@n."""
    if n <= 0:
        return 0.0
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks = [1]
    while ks[-1] * 2 <= n:
        ks.append(ks[-1] * 2)
    if ks[-1] != n and n > 0:
        ks.append(n)
    return ks


def majority_vote(
    samples: Sequence[Record], equivalent: Equivalent, field: str = "correct"
) -> bool:
    """Whether the majority answer of `samples` is correct.

    Each sample with an extracted answer votes; answers are grouped by `equivalent` against
    each group's first answer (string equality first). The largest group wins; a tie goes to
    the group that appeared first. The winner is correct when its first sample is. No votes:
    not correct.
    """
    groups: list[list[Any]] = []  # [representative answer, votes, representative correct]
    for r in samples:
        answer = r.get("extracted")
        if answer is None or r.get("status") == "error" or not str(answer).strip():
            continue
        for group in groups:
            if answer == group[0] or equivalent(answer, group[0]):
                group[1] += 1
                break
        else:
            groups.append([answer, 1, bool(r.get(field))])
    if not groups:
        return False
    best = max(groups, key=lambda g: g[1])  # max keeps the first of equal counts
    return bool(best[2])


def _default_equivalent() -> Equivalent:
    from mwpbench.grading import is_equivalent

    cache: dict[tuple[str, str], bool] = {}

    def equivalent(a: str, b: str) -> bool:
        key = (a, b)
        if key not in cache:
            cache[key] = is_equivalent(a, b)
        return cache[key]

    return equivalent


# --- everything ----------------------------------------------------------------------------


def compute_metrics(
    records: Iterable[Record],
    *,
    task_order: Sequence[str] | None = None,
    equivalent: Equivalent | None = None,
) -> dict[str, Any]:
    """The `metrics` block of run.json (see docs/run-format.md) from sample records.

    Records need `task`, `id`, `subset`, `sample_index`, `correct`, `official_correct`,
    `status`, `finish_reason` and (for maj@k) `extracted`. pass@k and maj@k use the strict
    verdicts; `equivalent(a, b)` groups answers for maj@k (default: mwpbench.is_equivalent).
    """
    records = list(records)
    order = _task_order(records, task_order)
    items = _items(records)
    out: dict[str, Any] = {
        name: score_block(items, _fraction(field), order) for name, field in GRADER_FIELDS.items()
    }
    disagreements: dict[str, int] = {}
    truncation: dict[str, float] = {}
    statuses: dict[str, dict[str, int]] = {}
    per_task: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        per_task[r["task"]].append(r)
    for task in order:
        rows = per_task.get(task)
        if not rows:
            continue
        disagreements[task] = sum(
            1 for r in rows if bool(r.get("correct")) != bool(r.get("official_correct"))
        )
        truncation[task] = sum(1 for r in rows if r.get("finish_reason") == "length") / len(rows)
        counts = Counter(r.get("status") or "ungraded" for r in rows)
        statuses[task] = {s: counts.pop(s, 0) for s in STATUSES} | dict(counts)
    disagreements["total"] = sum(disagreements.values())
    out["disagreements"] = disagreements
    out["truncation_rate"] = truncation
    out["status_counts"] = statuses
    n = max((len(s) for s in items.values()), default=1)
    out["pass_at_k"] = None
    out["maj_at_k"] = None
    if n > 1:
        out["pass_at_k"] = {
            str(k): score_block(items, _pass_score(k), order) for k in k_values(n)
        }
        eq = equivalent or _default_equivalent()
        out["maj_at_k"] = {
            str(k): score_block(items, _maj_score(k, eq), order) for k in k_values(n) if k > 1
        }
    return out


def _pass_score(k: int) -> Callable[[Sequence[Record]], float]:
    def score(samples: Sequence[Record]) -> float:
        return pass_at_k(len(samples), sum(1 for r in samples if r.get("correct")), k)

    return score


def _maj_score(k: int, equivalent: Equivalent) -> Callable[[Sequence[Record]], float]:
    def score(samples: Sequence[Record]) -> float:
        return float(majority_vote(samples[:k], equivalent))

    return score


def headline_accuracy(metrics: Mapping[str, Any], grader: str = "strict") -> dict[str, Any]:
    """{dataset: accuracy, ..., "micro": ..., "macro": ...} of one grader block."""
    block = metrics[grader]
    out = {task: d["accuracy"] for task, d in block["datasets"].items()}
    out["micro"] = block["micro"]["accuracy"]
    out["macro"] = block["macro"]["accuracy"]
    return out


# --- paired comparison ---------------------------------------------------------------------


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs: a binomial test of
    min(b, c) successes in b + c trials at p = 1/2 (1.0 when there are no discordant pairs)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def compare_records(
    records_a: Iterable[Record],
    records_b: Iterable[Record],
    *,
    grader: str = "strict",
    task_order: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Paired comparison of two runs by (problem id, sample index), per dataset and pooled.

    Per dataset: `n` paired samples, `accuracy_a`, `accuracy_b`, `delta` (b - a),
    `a_only` (A right, B wrong), `b_only`, `p_value` (exact McNemar), and the problems that
    flipped (`flipped`: id, sample_index, then `a`/`b` verdicts). Samples in only one run are
    counted in `unpaired_a` / `unpaired_b` and left out of everything else.
    """
    field = GRADER_FIELDS[grader]
    a = {(r["id"], r.get("sample_index", 0)): r for r in records_a}
    b = {(r["id"], r.get("sample_index", 0)): r for r in records_b}
    order = _task_order(list(a.values()) + list(b.values()), task_order)
    pairs: dict[str, list[tuple[Record, Record]]] = defaultdict(list)
    for key, ra in a.items():
        rb = b.get(key)
        if rb is not None:
            pairs[ra["task"]].append((ra, rb))

    def summarize(rows: Sequence[tuple[Record, Record]]) -> dict[str, Any]:
        n = len(rows)
        ca = sum(1 for ra, _ in rows if ra.get(field))
        cb = sum(1 for _, rb in rows if rb.get(field))
        a_only = sum(1 for ra, rb in rows if ra.get(field) and not rb.get(field))
        b_only = sum(1 for ra, rb in rows if rb.get(field) and not ra.get(field))
        return {
            "n": n,
            "accuracy_a": ca / n if n else None,
            "accuracy_b": cb / n if n else None,
            "delta": (cb - ca) / n if n else None,
            "a_only": a_only,
            "b_only": b_only,
            "p_value": mcnemar_exact(a_only, b_only),
        }

    datasets: dict[str, Any] = {}
    pooled: list[tuple[Record, Record]] = []
    for task in order:
        rows = pairs.get(task, [])
        if not rows:
            continue
        block = summarize(rows)
        block["flipped"] = [
            {"id": ra["id"], "sample_index": ra.get("sample_index", 0),
             "a": bool(ra.get(field)), "b": bool(rb.get(field)),
             "extracted_a": ra.get("extracted"), "extracted_b": rb.get("extracted"),
             "gold": ra.get("gold")}
            for ra, rb in rows
            if bool(ra.get(field)) != bool(rb.get(field))
        ]  # fmt: skip
        datasets[task] = block
        pooled.extend(rows)
    return {
        "grader": grader,
        "datasets": datasets,
        "micro": summarize(pooled),
        "unpaired_a": len(set(a) - set(b)),
        "unpaired_b": len(set(b) - set(a)),
    }


__all__ = [
    "GRADER_FIELDS",
    "STATUSES",
    "accuracy",
    "compare_records",
    "compute_metrics",
    "headline_accuracy",
    "k_values",
    "macro",
    "majority_vote",
    "mcnemar_exact",
    "pass_at_k",
    "score_block",
]
