"""Grader accuracy and speed, against peers measured in the same run.

Accuracy: the answer-vs-answer table tests/grading/cases.jsonl (true and false pairs in every
category, adversarial pairs included), judged by mwpbench strict, the official MWPBench
matcher (answers wrapped in \\boxed{}), and Math-Verify when it is installed.
Speed: grading realistic completions — the MATH test set's reference solutions against their
own boxed answers when ../shared/data is present, else the table's pairs repeated — with
`grade_many` (all cores), `grade` one by one, the official matcher and Math-Verify.

    python bench/grading.py [--limit N] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mwpbench  # noqa: E402
from mwpbench.grading.extract import extract  # noqa: E402
from mwpbench.grading.official import grade_official  # noqa: E402

CASES = ROOT / "tests" / "grading" / "cases.jsonl"
MATH = ROOT.parent / "shared" / "data" / "math" / "test.jsonl"


def math_verify():
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def judge(pred: str, gold: str) -> bool:
        try:
            return bool(verify(parse(f"${gold}$"), parse(f"${pred}$")))
        except Exception:
            return False

    def grade(completion: str, gold: str) -> bool:
        try:
            return bool(verify(parse(f"${gold}$"), parse(completion)))
        except Exception:
            return False

    return judge, grade


def accuracy_table(limit: int | None) -> list[tuple[str, int, int, float]]:
    rows = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line]
    rows = rows[:limit] if limit else rows
    judges = {
        "mwpbench strict": lambda p, g: mwpbench.is_equivalent(p, g, timeout=5),
        "official MWPBench": lambda p, g: grade_official(f"\\boxed{{{p}}}", g).correct,
    }
    mv = math_verify()
    if mv is not None:
        judges["Math-Verify"] = mv[0]
    out = []
    for name, judge in judges.items():
        start = time.perf_counter()
        right = sum(judge(r["pred"], r["gold"]) == r["equivalent"] for r in rows)
        out.append((name, right, len(rows), time.perf_counter() - start))
    return out


def completion_sets(limit: int | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Realistic completions (mostly fast-path) and hard pairs (mostly symbolic work)."""
    sets = []
    if MATH.exists():
        pairs = []
        for line in MATH.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            gold = extract(record["solution"]).answer
            if gold is not None:
                pairs.append((record["solution"], gold))
        sets.append(("MATH reference solutions vs their boxed answers", pairs[:limit] if limit else pairs))
    rows = [json.loads(x) for x in CASES.read_text(encoding="utf-8").splitlines() if x]
    hard = [(f"The answer is $\\boxed{{{r['pred']}}}$.", r["gold"]) for r in rows] * 4
    sets.append(("case-table pairs as boxed completions (x4: forms differ, SymPy work)", hard[:limit] if limit else hard))
    return sets


def speed_table(pairs: list[tuple[str, str]], jobs: int) -> list[tuple[str, int, float, int]]:
    out = []
    start = time.perf_counter()
    items = ({"completion": c, "gold": g} for c, g in pairs)
    right = sum(v.correct for v in mwpbench.grade_many(items, jobs=jobs))
    out.append((f"mwpbench grade_many (jobs={jobs})", len(pairs), time.perf_counter() - start, right))
    sample = pairs[: min(len(pairs), 1000)]
    start = time.perf_counter()
    right = sum(mwpbench.grade(c, g).correct for c, g in sample)
    out.append(("mwpbench grade, one by one", len(sample), time.perf_counter() - start, right))
    start = time.perf_counter()
    right = sum(grade_official(c, g).correct for c, g in pairs)
    out.append(("official MWPBench matcher", len(pairs), time.perf_counter() - start, right))
    mv = math_verify()
    if mv is not None:
        start = time.perf_counter()
        right = sum(mv[1](c, g) for c, g in sample)
        out.append(("Math-Verify (single thread)", len(sample), time.perf_counter() - start, right))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="items per table")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print("\nAccuracy on tests/grading/cases.jsonl (answer vs answer)")
    print(f"{'grader':<22}{'right':>8}{'of':>6}{'accuracy':>10}{'seconds':>9}")
    for name, right, n, secs in accuracy_table(args.limit):
        print(f"{name:<22}{right:>8}{n:>6}{right / n:>10.1%}{secs:>9.2f}")
    for label, pairs in completion_sets(args.limit):
        print(f"\nSpeed on {label}")
        rows = speed_table(pairs, args.jobs)
        base = rows[0][1] / rows[0][2]
        print(f"{'grader':<34}{'items':>7}{'seconds':>9}{'items/s':>10}{'vs ours':>9}{'correct':>9}")
        for name, n, secs, right in rows:
            rate = n / secs
            print(f"{name:<34}{n:>7}{secs:>9.2f}{rate:>10.0f}{rate / base:>9.2f}{right / n:>9.1%}")


if __name__ == "__main__":
    main()
