"""A full-size `evaluate` run end to end: 18,408 problems, replayed completions, both graders.

    python bench/pipeline.py [--jobs 2] [--keep DIR] [--official]

Synthesizes (no real data) a release-format file with the paper's item counts per dataset
and data_topic, and realistic completions: chain-of-thought text of a few hundred to a few
thousand characters ending in "The answer is ..." or a \\boxed{} answer; right answers in the
gold's form or another equivalent form (0.5 for \\frac{1}{2}, \\sqrt8 for 2\\sqrt2,
expressions reordered), wrong answers, hedges, truncated completions with no answer. Then
runs `mwpbench.evaluate(backend="replay")` over it and prints the split (load, prompts,
generate, grade, write), the wall time and the peak memory of the process and of its
grading workers. Goal: under 30 s on 2 cores, peak memory under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

# (data_topic, data_source, count): the item counts of the MWPBench release (18,408)
TOPICS = [
    ("gsm8k", "gsm8k", 1319),
    ("MATH.Algebra", "MATH", 1187),
    ("MATH.Counting_&_Probability", "MATH", 474),
    ("MATH.Geometry", "MATH", 479),
    ("MATH.Intermediate_Algebra", "MATH", 903),
    ("MATH.Number_Theory", "MATH", 540),
    ("MATH.Prealgebra", "MATH", 871),
    ("MATH.Precalculus", "MATH", 546),
    ("college_math.algebra", "college_math.Synthetic_Algebra", 600),
    ("college_math.precalculus", "college_math.Synthetic_Precalculus", 400),
    ("college_math.calculus", "college_math.Synthetic_Calculus", 500),
    ("college_math.differential_equation", "college_math.Synthetic_ODE", 300),
    ("college_math.linear_algebra", "college_math.Synthetic_LA", 450),
    ("college_math.probability", "college_math.Synthetic_Probability", 318),
    ("college_math.vector_calculus", "college_math.Synthetic_VC", 250),
    ("tal", "tal", 1496),
    ("math23k_en", "math23k", 949),
    ("ape210k_en", "ape210k", 4874),
    ("gaokao_bench_math_en", "gaokao_bench_math_en", 508),
    ("agieval.gaokao-math-en", "agieval.gaokao-math-en", 404),
    ("agieval.sat-math", "agieval.sat-math", 102),
    ("agieval.math", "agieval.math", 938),
]
TASK_OF = {"gsm8k": "gsm8k", "MATH": "math", "college_math": "college_math", "tal": "tal_scq",
           "math23k_en": "math23k", "ape210k_en": "ape210k",
           "gaokao_bench_math_en": "gaokaobench_math",
           "agieval.gaokao-math-en": "agieval_gaokao_math", "agieval.sat-math": "agieval_sat_math",
           "agieval.math": "agieval_math"}  # fmt: skip

FILLER = (
    "First, let us restate what is given and what is asked. We write the quantities "
    "carefully and check the units. Then we combine them step by step: multiplying, "
    "adding and simplifying where we can, and we double-check each intermediate result. "
)


def task_of(topic: str) -> str:
    return TASK_OF.get(topic.split(".")[0], TASK_OF.get(topic, topic))


def gold_and_variants(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """A gold answer, equivalent renderings of it, and wrong answers."""
    kind = rng.random()
    if kind < 0.55:
        n = rng.randint(-50, 5000)
        return str(n), [str(n), f"{n}.0" if rng.random() < 0.3 else str(n)], [str(n + 1), str(n * 10)]
    if kind < 0.70:
        a, b = rng.randint(1, 30), rng.randint(2, 40)
        return (f"\\frac{{{a}}}{{{b}}}", [f"\\frac{{{a}}}{{{b}}}", f"{a}/{b}", f"\\dfrac{{{2 * a}}}{{{2 * b}}}"],
                [f"\\frac{{{b}}}{{{a}}}", f"{a + 1}/{b}"])  # fmt: skip
    if kind < 0.78:
        k = rng.randint(2, 9)
        return (f"{k}\\sqrt{{2}}", [f"{k}\\sqrt{{2}}", f"\\sqrt{{{2 * k * k}}}"],
                [f"{k}\\sqrt{{3}}", f"{k + 1}\\sqrt{{2}}"])  # fmt: skip
    if kind < 0.86:
        a, c = rng.randint(2, 9), rng.randint(1, 20)
        return (f"{a}x+{c}", [f"{a}x+{c}", f"{c}+{a}x"], [f"{a}x-{c}", f"{a + 1}x+{c}"])
    if kind < 0.93:
        d = rng.randint(1, 999)
        return (f"{d / 100:.2f}", [f"{d / 100:.2f}"], [f"{(d + 7) / 100:.2f}"])
    lo, hi = rng.randint(-9, 0), rng.randint(1, 9)
    return (f"[{lo}, {hi})", [f"[{lo},{hi})"], [f"({lo},{hi})", f"[{lo},{hi}]"])


def completion(rng: random.Random, variants: list[str], wrong: list[str]) -> tuple[str, str]:
    body = FILLER * rng.randint(1, 8)
    r = rng.random()
    if r < 0.05:  # truncated mid-thought
        return body + "so the next step is to", "length"
    if r < 0.08:
        return body + "I am not sure how to finish this.", "stop"
    if r < 0.10:
        return body + f"The answer is {wrong[0]} or {variants[0]}.", "stop"
    answer = rng.choice(variants) if r < 0.62 else rng.choice(wrong)
    if rng.random() < 0.5:
        return body + f"Therefore, the final answer is $\\boxed{{{answer}}}$.", "stop"
    return body + f"The answer is {answer}.", "stop"


def synthesize(folder: Path, seed: int = 0) -> tuple[Path, Path, int]:
    rng = random.Random(seed)
    release, preds = folder / "full_test.jsonl", folder / "predictions.jsonl"
    total = 0
    with release.open("w", encoding="utf-8") as rf, preds.open("w", encoding="utf-8") as pf:
        for topic, source, count in TOPICS:
            for i in range(count):
                gold, variants, wrong = gold_and_variants(rng)
                number = f"synthetic/{topic}/{i}"
                question = f"Synthetic problem {i} of {topic}: compute the quantity described."
                rf.write(json.dumps({"data_topic": topic, "question": question, "answer": gold,
                                     "question_number": number, "data_source": source,
                                     "license": "synthetic"}) + "\n")  # fmt: skip
                text, reason = completion(rng, variants, wrong)
                pid = f"{task_of(topic)}/mwpbench/{source}/{number}"
                pf.write(json.dumps({"id": pid, "completion": text, "finish_reason": reason}) + "\n")
                total += 1
    return release, preds, total


def _tree_rss_mib(root: int) -> float:
    """Resident memory of `root` and all its descendants (Linux /proc), in MiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
                if ":" in line
            )  # fmt: skip
            parents[int(entry.name)] = int(fields["PPid"].strip())
            rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
        except (OSError, KeyError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


class PeakMemory:
    """Samples the process tree's total RSS every `interval` seconds in a thread."""

    def __init__(self, interval: float = 0.25) -> None:
        import os
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._pid = os.getpid()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if Path("/proc").is_dir():
                self.peak = max(self.peak, _tree_rss_mib(self._pid))
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="grading worker processes")
    parser.add_argument("--keep", type=Path, default=None, help="write the run here (kept)")
    parser.add_argument("--official", action="store_true", help="paper mode (2000-item cap)")
    args = parser.parse_args()

    import mwpbench

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        release, preds, total = synthesize(folder)
        synth = time.perf_counter() - t0
        t0 = time.perf_counter()
        with PeakMemory() as memory:
            result = mwpbench.evaluate(
                "bench-replay", backend="replay", backend_options={"path": str(preds)},
                data_files=str(release), output=args.keep or folder / "results", jobs=args.jobs,
                progress=False, official=args.official,
            )  # fmt: skip
        wall = time.perf_counter() - t0
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = result.run["timings"]
    m = result.metrics
    print(f"problems synthesized: {total} ({synth:.1f} s); samples graded: "
          f"{result.run['counts']['samples']}; status {result.status}")  # fmt: skip
    print("split (s): " + "  ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in t.items()))
    print(f"evaluate() wall: {wall:.2f} s with jobs={args.jobs}  "
          f"({result.run['counts']['samples'] / wall:.0f} samples/s)")  # fmt: skip
    print(f"peak RSS: main process {self_mb:.0f} MiB, largest child {child_mb:.0f} MiB, "
          f"whole process tree (sampled every 0.25 s) {memory.peak:.0f} MiB")  # fmt: skip
    print(f"strict micro {m['strict']['micro']['accuracy']:.4f}, official micro "
          f"{m['official']['micro']['accuracy']:.4f}, disagreements "
          f"{m['disagreements']['total']}, timeouts {result.run['counts']['timeouts']}")  # fmt: skip
    ok = wall < 30 and max(self_mb, memory.peak) < 1024
    print("goal (< 30 s, < 1 GiB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
