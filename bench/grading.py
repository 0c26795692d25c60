"""Grader accuracy and speed, against peers measured in the same run.

Accuracy: the answer-vs-answer table tests/grading/cases.jsonl (true and false pairs in every
category, adversarial pairs included), judged by mwpbench strict, the official MWPBench
matcher (answers wrapped in \\boxed{}), and Math-Verify when it is installed.
Speed: grading realistic completions — the MATH test set's reference solutions against their
own boxed answers when ../shared/data is present, else the table's pairs repeated — with
`grade_many` (all cores), `grade` one by one, the official matcher and Math-Verify.

Workload (issue 10), when ../shared/data is present: the MATH, GSM8K, CollegeMath and
GaokaoBench reference answers as completions, graded against their own golds (positives)
and against another problem's gold of the same dataset (negatives; a seeded shuffle, pairs
whose two golds are the same answer dropped). MATH completions are the reference solutions,
GSM8K ones the worked answers ending in `#### N`, CollegeMath and GaokaoBench ones a sentence
boxing the reference answer. Printed: items/s of mwpbench in one process on one core (the
work `grade` does, without the worker round trip), of `grade_many` with one worker and with
all cores, of `grade_many` as the first call of a fresh process (its worker start counted),
and of Math-Verify (on a seeded sample, `--mv-items`), the ratios, p50/p99/max per
item, peak RSS, recall and specificity, and the share of pairs that reach latex2sympy2_extended
(ANTLR) and SymPy's symbolic comparison, per dataset and label.

    python bench/grading.py [--limit N] [--jobs N] [--mv-items N] [--sections ...]

Math-Verify is an optional peer (`pip install math-verify==0.9.0`), never a dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mwpbench  # noqa: E402
from mwpbench.grading import api, compare  # noqa: E402
from mwpbench.grading.extract import extract  # noqa: E402
from mwpbench.grading.normalize import normalize, squeeze  # noqa: E402
from mwpbench.grading.official import grade_official  # noqa: E402
from mwpbench.types import Verdict  # noqa: E402

CASES = ROOT / "tests" / "grading" / "cases.jsonl"
DATA = ROOT.parent / "shared" / "data"
MATH = DATA / "math" / "test.jsonl"
SECTIONS = ("accuracy", "speed", "workload")
SYMBOLIC = ("_constants_equal", "_symbolic_equal", "_equation_equal", "_interval_equal")


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


# ---------------------------------------------------------------- the issue-10 workload


class Item(NamedTuple):
    dataset: str
    positive: bool  # the gold is the completion's own
    completion: str
    gold: str


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _boxed_sentence(answer: str) -> str:
    answer = answer.strip()
    if len(answer) > 1 and answer[0] == answer[-1] == "$" and "$" not in answer[1:-1]:
        answer = answer[1:-1].strip()
    return f"Putting it together, the final answer is $\\boxed{{{answer}}}$."


def _reference_pairs() -> dict[str, list[tuple[str, str]]]:
    """(completion, gold) per dataset: each reference answer with its own gold."""
    sets: dict[str, list[tuple[str, str]]] = {"MATH": [], "GSM8K": [], "CollegeMath": [], "GaokaoBench": []}
    for record in _jsonl("math/test.jsonl"):
        gold = extract(record["solution"]).answer
        if gold:
            sets["MATH"].append((record["solution"], gold))
    for record in _jsonl("gsm8k/test.jsonl"):
        sets["GSM8K"].append((record["answer"], record["answer"].rsplit("####", 1)[1].strip()))
    for record in _jsonl("college_math/college_math_test.jsonl"):
        sets["CollegeMath"].append((_boxed_sentence(record["answer"]), record["answer"]))
    for record in _jsonl("gaokaobench_math/mwpbench_gaokao_bench_math_en.jsonl"):
        sets["GaokaoBench"].append((_boxed_sentence(record["answer"]), record["answer"]))
    return sets


def _answer_key(gold: str) -> str:
    """Golds that are the same answer (`b=4` and `4`, `1,000` and `1000`) share a key."""
    text = squeeze(normalize(gold).text)
    if len(text) > 2 and text[0].isalpha() and text[1] == "=":
        text = text[2:]
    return text


def workload(limit: int | None, seed: int = 20240601) -> list[Item]:
    """Positives and shuffled-gold negatives of the four datasets (see the module doc)."""
    rng = random.Random(seed)
    items: list[Item] = []
    for name, pairs in _reference_pairs().items():
        items.extend(Item(name, True, c, g) for c, g in pairs)
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for (completion, gold), k in zip(pairs, order, strict=True):
            other = pairs[k][1]
            if _answer_key(other) != _answer_key(gold):
                items.append(Item(name, False, completion, other))
    if limit:
        rng.shuffle(items)
        items = items[:limit]
    return items


class Pass(NamedTuple):
    verdicts: list[bool]
    seconds: list[float]  # per item, wall clock
    wall: float
    cpu: float
    antlr: list[bool]  # per item: reached latex2sympy2_extended
    symbolic: list[bool]  # per item: reached SymPy's symbolic comparison
    worker: list[bool]  # per item: left the in-process fast path


@contextmanager
def _counting() -> Iterator[dict[str, int]]:
    """Count calls to latex2sympy2_extended and to compare's SymPy comparisons."""
    import latex2sympy2_extended

    calls = {"antlr": 0, "symbolic": 0}
    originals = {name: getattr(compare, name) for name in SYMBOLIC}
    antlr = latex2sympy2_extended.latex2sympy

    def counted(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[key] += 1
            return fn(*args, **kwargs)

        return wrapper

    latex2sympy2_extended.latex2sympy = counted("antlr", antlr)
    for name, fn in originals.items():
        setattr(compare, name, counted("symbolic", fn))
    try:
        yield calls
    finally:
        latex2sympy2_extended.latex2sympy = antlr
        for name, fn in originals.items():
            setattr(compare, name, fn)


def mwpbench_in_process(items: list[Item]) -> Pass:
    """What `grade` does for each item, in this process: extraction, the fast path, then the
    full comparison (which `grade` runs in a worker)."""
    verdicts, seconds, antlr, symbolic, worker = [], [], [], [], []
    cpu, wall = time.process_time(), time.perf_counter()
    with _counting() as calls:
        for item in items:
            before = dict(calls)
            start = time.perf_counter()
            prepared = api._prepare(item.completion, item.gold, None, None)
            if isinstance(prepared, Verdict):
                correct = prepared.correct
            else:
                correct = bool(compare.compare_answers(prepared[1], prepared[2])[0])
            seconds.append(time.perf_counter() - start)
            verdicts.append(correct)
            worker.append(not isinstance(prepared, Verdict))
            antlr.append(calls["antlr"] > before["antlr"])
            symbolic.append(calls["symbolic"] > before["symbolic"])
    return Pass(verdicts, seconds, time.perf_counter() - wall, time.process_time() - cpu, antlr, symbolic, worker)


def mwpbench_grade_many(items: list[Item], jobs: int) -> tuple[list[bool], float]:
    start = time.perf_counter()
    stream = ({"completion": i.completion, "gold": i.gold} for i in items)
    verdicts = [v.correct for v in mwpbench.grade_many(stream, jobs=jobs)]
    return verdicts, time.perf_counter() - start


def mwpbench_grade_many_fresh(limit: int | None, jobs: int) -> tuple[list[bool], float]:
    """`grade_many` as a user's first call: in a new interpreter, the grading processes
    started by the call (their start-up counted), the input read lazily."""
    code = (
        "import json, sys, time; sys.path.insert(0, sys.argv[1]); import grading, mwpbench; "
        "items = grading.workload(json.loads(sys.argv[2])); start = time.perf_counter(); "
        "stream = ({'completion': i.completion, 'gold': i.gold} for i in items); "
        "verdicts = [v.correct for v in mwpbench.grade_many(stream, jobs=int(sys.argv[3]))]; "
        "print(json.dumps({'seconds': time.perf_counter() - start, 'verdicts': verdicts}))"
    )
    args = [sys.executable, "-c", code, str(Path(__file__).resolve().parent), json.dumps(limit), str(jobs)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    return result["verdicts"], result["seconds"]


def math_verify_pass(items: list[Item]) -> tuple[list[bool], list[float]] | None:
    mv = math_verify()
    if mv is None:
        return None
    verdicts, seconds = [], []
    for item in items:
        start = time.perf_counter()
        verdicts.append(mv[1](item.completion, item.gold))
        seconds.append(time.perf_counter() - start)
    return verdicts, seconds


def _recall_specificity(items: list[Item], verdicts: list[bool]) -> tuple[float, float]:
    pos = [v for i, v in zip(items, verdicts, strict=True) if i.positive]
    neg = [v for i, v in zip(items, verdicts, strict=True) if not i.positive]
    return sum(pos) / max(1, len(pos)), sum(not v for v in neg) / max(1, len(neg))


def _quantiles(seconds: list[float]) -> tuple[float, float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered), p99, ordered[-1]


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


class DescendantPeak:
    """Largest peak RSS (VmHWM) among this process's descendants, sampled from /proc while
    the block runs (worker processes may be children of a fork server, not of us)."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DescendantPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        ours, frontier = set(), {os.getpid()}
        while frontier:
            frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
            ours |= frontier
        for pid in ours:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                continue


def workload_report(limit: int | None, jobs: int, mv_items: int) -> None:
    items = workload(limit)
    mix = Counter((i.dataset, i.positive) for i in items)
    print(f"\nWorkload (issue 10): {len(items)} items from ../shared/data; "
          + ", ".join(f"{d} {mix[d, True]}+{mix[d, False]}" for d in dict.fromkeys(i.dataset for i in items))
          + " (positives+negatives)")  # fmt: skip
    fresh, fresh_secs = mwpbench_grade_many_fresh(limit, jobs)
    local = mwpbench_in_process(items)
    with DescendantPeak() as workers:
        one, one_secs = mwpbench_grade_many(items, 1)
        many, many_secs = mwpbench_grade_many(items, jobs)
    rss_self = _rss_mib(resource.RUSAGE_SELF)
    sample_rng = random.Random(7)
    sample_idx = sorted(sample_rng.sample(range(len(items)), min(mv_items, len(items)))) if mv_items else range(len(items))
    sample = [items[k] for k in sample_idx]
    mv = math_verify_pass(sample)

    n = len(items)
    ours_rate = n / local.wall
    print(f"{'grader':<40}{'items':>7}{'seconds':>9}{'items/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
          f"{'recall':>9}{'spec.':>9}")  # fmt: skip
    rows: list[tuple[str, int, float, list[float] | None, list[bool], list[Item]]] = [
        (f"mwpbench in-process, 1 core (cpu {local.cpu:.1f}s)", n, local.wall, local.seconds, local.verdicts, items),
        ("mwpbench grade_many jobs=1", n, one_secs, None, one, items),
        (f"mwpbench grade_many jobs={jobs}", n, many_secs, None, many, items),
        (f"grade_many jobs={jobs}, fresh process", n, fresh_secs, None, fresh, items),
    ]
    if mv is not None:
        rows.append((f"Math-Verify 0.9.0, 1 core ({len(sample)}-item sample)", len(sample), sum(mv[1]), mv[1], mv[0], sample))
    for name, count, secs, per_item, verdicts, of in rows:
        recall, spec = _recall_specificity(of, verdicts)
        q = "".join(f"{x * 1000:>8.1f}" for x in _quantiles(per_item)) if per_item else f"{'':>24}"
        print(f"{name:<40}{count:>7}{secs:>9.2f}{count / secs:>9.0f}{q}{recall:>9.3%}{spec:>9.3%}")
    if mv is not None:
        mv_rate = len(sample) / sum(mv[1])
        ours_on_sample = len(sample) / sum(local.seconds[k] for k in sample_idx)
        print(f"one core vs Math-Verify: {ours_on_sample / mv_rate:.1f}x on the same {len(sample)} items "
              f"({ours_rate / mv_rate:.1f}x whole workload vs sample); grade_many jobs={jobs}: "
              f"{n / many_secs / mv_rate:.1f}x")  # fmt: skip
    print(f"peak RSS: this process {rss_self:.0f} MiB (in-process pass included), "
          f"largest worker process {workers.peak_kib / 1024:.0f} MiB")  # fmt: skip
    print(f"pairs reaching ANTLR {sum(local.antlr) / n:.2%}, SymPy symbolic comparison "
          f"{sum(local.symbolic) / n:.2%}, a worker {sum(local.worker) / n:.2%}")  # fmt: skip

    print(f"\n{'dataset':<13}{'label':<10}{'items':>7}{'time %':>8}{'ms/item':>9}{'ANTLR':>8}{'symbolic':>10}{'worker':>8}")
    groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        groups[item.dataset, item.positive].append(k)
    total = sum(local.seconds)
    for (dataset, positive), ks in groups.items():
        secs = sum(local.seconds[k] for k in ks)
        share = [sum(flags[k] for k in ks) / len(ks) for flags in (local.antlr, local.symbolic, local.worker)]
        print(f"{dataset:<13}{'own' if positive else 'shuffled':<10}{len(ks):>7}{secs / total:>8.1%}"
              f"{secs / len(ks) * 1000:>9.2f}{share[0]:>8.1%}{share[1]:>10.1%}{share[2]:>8.1%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="items per table")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--mv-items", type=int, default=3000, help="Math-Verify sample of the workload (0: all)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    sections = {s.strip() for s in args.sections.split(",")}
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    if "accuracy" in sections:
        print("\nAccuracy on tests/grading/cases.jsonl (answer vs answer)")
        print(f"{'grader':<22}{'right':>8}{'of':>6}{'accuracy':>10}{'seconds':>9}")
        for name, right, n, secs in accuracy_table(args.limit):
            print(f"{name:<22}{right:>8}{n:>6}{right / n:>10.1%}{secs:>9.2f}")
    if "speed" in sections:
        for label, pairs in completion_sets(args.limit):
            print(f"\nSpeed on {label}")
            rows = speed_table(pairs, args.jobs)
            base = rows[0][1] / rows[0][2]
            print(f"{'grader':<34}{'items':>7}{'seconds':>9}{'items/s':>10}{'vs ours':>9}{'correct':>9}")
            for name, n, secs, right in rows:
                rate = n / secs
                print(f"{name:<34}{n:>7}{secs:>9.2f}{rate:>10.0f}{rate / base:>9.2f}{right / n:>9.1%}")
    if "workload" in sections:
        if not DATA.is_dir():
            print(f"\nWorkload skipped: {DATA} not present")
        else:
            workload_report(args.limit, args.jobs, args.mv_items)


if __name__ == "__main__":
    main()
