"""Run directories for the leaderboard tests, written by hand after docs/run-format.md.

Not a test module: test_leaderboard.py and test_leaderboard_browser.py import it, so the
leaderboard is tested against the documented format, not against the runner's code.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

# What a hostile completion might contain. Each payload, if it ever ran, would set
# window.__pwned or change document.title; the browser test checks that neither happened.
PAYLOADS = (
    "<script>window.__pwned=1;document.title='PWNED'</script>",
    "<img src=x onerror=\"window.__pwned=2;document.title='PWNED'\">",
    "<a href=\"javascript:window.__pwned=3\">click</a>",
    "</textarea></pre></script><svg onload=\"window.__pwned=4\">",
    "\u2028\u2029'\"`${window.__pwned=5}`<!--",
)
PAYLOAD = " ".join(PAYLOADS)

# The same, aimed at the math typesetter: each sits between $…$ (or is a bare \boxed) so
# that KaTeX sees it. With trust: false none may become a link, a class, an id or a style;
# the size and expansion limits keep the rest from freezing the page.
KATEX_PAYLOADS = (
    "$\\href{javascript:window.__pwned=11}{\\text{click}}$",
    "$\\url{javascript:window.__pwned=12}$",
    "$\\htmlClass{pwned}{x} \\htmlId{pwned}{y} \\htmlStyle{background:url(javascript:1)}{z}$",
    "$\\htmlData{onclick=window.__pwned=13}{w} \\includegraphics{javascript:1}$",
    "$\\rule{100000em}{100000em}$",
    "$" + "\\def\\a{\\b\\b}\\def\\b{\\c\\c}\\def\\c{\\d\\d}\\def\\d{\\e\\e}"
    "\\def\\e{\\f\\f}\\def\\f{\\g\\g}\\def\\g{\\h\\h}\\def\\h{xx}\\a\\a\\a\\a" + "$",
    "$" + "{" * 3000 + "x" + "}" * 3000 + "$",  # too long to be looked for: plain text
    "$" + "{" * 100 + "x" + "}" * 100 + "$",  # too deep to be typeset: plain text
    "$" + "\\frac{1}{" * 40 + "2" + "}" * 40 + "$",
    "\\boxed{\\text{</script><img src=x onerror=window.__pwned=14>}}",
    "$\\text{<svg onload=window.__pwned=15>}$",
)
KATEX_PAYLOAD = " ".join(KATEX_PAYLOADS)

# what a MATH completion looks like: inline and display math, a boxed answer
MATH_TEXT = ("First, $x = 2y$, so $\\frac{x}{2} = y$ and $y^2 + 1 > 0$. ") * 4 + (
    "Summing, $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$ and \\(\\sqrt{2} \\approx 1.414\\). ")

ROUNDING = [  # (value, digits, shown): half away from zero on the decimal form, both sides
    (0.125, 2, "0.13"), (0.0005, 3, "0.001"), (66.665, 2, "66.67"), (12.25, 1, "12.3"),
    (0.05, 1, "0.1"), (99.95, 1, "100.0"), (-0.04, 1, "0.0"), (-1.25, 1, "-1.3"),
    (1e-07, 1, "0.0"), (2.5, 0, "3"), (123456.789, 1, "123456.8"), (33.333333333, 1, "33.3"),
    (None, 1, "–"),
]

ALPACA = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{question}\n\n### Response:"
)

# (task, subsets) in MwpBench order; sizes as in the paper where they add up to 18,408
TASKS: dict[str, tuple[int, tuple[str, ...]]] = {
    "gsm8k": (1319, ()),
    "math": (5000, ("MATH.Algebra", "MATH.Counting_&_Probability", "MATH.Geometry",
                    "MATH.Intermediate_Algebra", "MATH.Number_Theory", "MATH.Prealgebra",
                    "MATH.Precalculus")),
    "college_math": (2818, ("college_math.algebra", "college_math.calculus",
                            "college_math.linear_algebra", "college_math.probability")),
    "tal_scq": (1496, ()),
    "math23k": (1000, ()),
    "ape210k": (4823, ()),
    "gaokaobench_math": (508, ()),
    "agieval_gaokao_math": (404, ()),
    "agieval_sat_math": (102, ()),
    "agieval_math": (938, ()),
}
FULL_SIZE = sum(n for n, _ in TASKS.values())  # 18,408


def _acc(correct: int, n: int) -> dict[str, Any]:
    p = correct / n if n else 0.0
    return {"accuracy": p, "n": n, "correct": correct,
            "stderr": math.sqrt(p * (1 - p) / n) if n else 0.0}


def _block(samples: list[dict[str, Any]], field: str, tasks: list[str]) -> dict[str, Any]:
    datasets: dict[str, Any] = {}
    for task in tasks:
        mine = [s for s in samples if s["task"] == task]
        block = _acc(sum(bool(s[field]) for s in mine), len(mine))
        subsets = sorted({s["subset"] for s in mine} - {task})
        block["subsets"] = {
            sub: _acc(sum(bool(s[field]) for s in mine if s["subset"] == sub),
                      sum(1 for s in mine if s["subset"] == sub))
            for sub in subsets
        }
        datasets[task] = block
    micro = _acc(sum(bool(s[field]) for s in samples), len(samples))
    accs = [d["accuracy"] for d in datasets.values()]
    mean = sum(accs) / len(accs) if accs else 0.0
    sem = (math.sqrt(sum((a - mean) ** 2 for a in accs) / (len(accs) - 1)) / math.sqrt(len(accs))
           if len(accs) > 1 else 0.0)
    return {"datasets": datasets, "micro": micro,
            "macro": {"accuracy": mean, "n": len(accs), "stderr": sem}}


def make_run(
    results: Path,
    run_id: str,
    *,
    model: str = "org/tiny-math-7b",
    backend: str = "vllm",
    tasks: dict[str, int] | None = None,
    skill: float = 0.5,
    status: str = "complete",
    source: str = "mwpbench",
    versions: dict[str, str] | None = None,
    limit: int | None = None,
    official_mode: bool = False,
    created_at: str = "2026-11-21T13:05:01Z",
    payload: str | None = None,
    long_text: bool = False,
    seed: int = 0,
    expected_n: dict[str, int] | None = None,
    levels: bool = True,
) -> Path:
    """Write results/<run_id>/{run.json,samples.jsonl}; returns the run directory.

    `tasks` maps task -> number of problems (default: 6 of each, all ten datasets).
    `payload`, when given, is put into every string field a model or a user controls.
    `levels=False` writes sample lines as mwpbench did before they had a `level`.
    """
    rng = random.Random(seed)
    tasks = tasks if tasks is not None else {t: 6 for t in TASKS}
    versions = versions or {}
    folder = results / run_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pl = payload or ""
    samples: list[dict[str, Any]] = []
    for task, count in tasks.items():
        subsets = TASKS.get(task, (0, ()))[1] or (task,)
        for i in range(count):
            subset = subsets[i % len(subsets)]
            gold = str(rng.randint(1, 999))
            ok = rng.random() < skill
            official_ok = ok if rng.random() < 0.9 else not ok
            question = f"Problem {i} of {task}: what is {gold} plus zero?{pl}"
            if long_text:
                question += " " + "Some context about apples and trains. " * 6
            answer = gold if ok else str(int(gold) + 1)
            completion = f"We add zero to {gold}.{pl} The answer is {answer}."
            if long_text:
                completion = ("Let's think step by step. " + "First we note that x = 2y. " * 20
                              + MATH_TEXT + completion + f" $\\boxed{{{answer}}}$")
            finish = "length" if rng.random() < 0.02 else "stop"
            pid = f"{task}-{i}{pl}" if i == 0 else f"{task}-{i}"
            sample: dict[str, Any] = {
                "key": f"{task}/{pid}/0/aaaaaaaaaaaa/bbbbbbbbbbbb",
                "id": pid, "task": task, "subset": subset,
                "level": f"Level {1 + i % 5}" if task == "math" else "elementary",
                "sample_index": 0,
                "prompt": ALPACA.format(question=question), "completion": completion,
                "finish_reason": finish, "gold": gold + (pl if i == 0 else ""),
                "extracted": answer + pl, "correct": ok,
                "status": "correct" if ok else ("no_answer" if i % 17 == 5 else "incorrect"),
                "rule": "answer_is" + pl, "method": "string" + pl,
                "official_correct": official_ok, "official_extracted": answer + pl,
                "prompt_tokens": 120, "completion_tokens": 85, "error": None,
            }
            if not levels:
                del sample["level"]
            samples.append(sample)
    names = list(tasks)
    strict = _block(samples, "correct", names)
    official = _block(samples, "official_correct", names)
    run = {
        "schema_version": 1,
        "run_id": run_id,
        "status": status,
        "created_at": created_at,
        "finished_at": created_at,
        "model": {"name": model + pl, "backend": backend + pl,
                  "backend_args": {"tensor_parallel_size": 1, "note": pl}},
        "source": source,
        "suite": "mwpbench",
        "tasks": [
            {"name": t, "version": versions.get(t, "1"), "source": source,
             "n": (expected_n or {}).get(t, n), "data_sha256": "0" * 64, "language": "en"}
            for t, n in tasks.items()
        ],
        "prompt": {"name": "alpaca" + pl, "hash": "c" * 64},
        "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 2048, "n": 1, "seed": 0,
                     "stop": ["Question:", pl]},
        "graders": {"headline": "strict", "stored": ["strict", "official"], "timeout": 5.0},
        "official_mode": official_mode,
        "limit": limit,
        "shard": None,
        "packages": {"mwpbench": "0.1.0", "python": "3.11.7"},
        "git_commit": "abc123" + pl,
        "timings": {"load_s": 0.4, "generate_s": 210.3, "grade_s": 3.1, "total_s": 214.9},
        "counts": {"samples": len(samples), "generation_errors": 0, "timeouts": 0},
        "metrics": {
            "strict": strict,
            "official": official,
            "disagreements": {t: sum(s["correct"] != s["official_correct"] for s in samples
                                     if s["task"] == t) for t in names}
            | {"total": sum(s["correct"] != s["official_correct"] for s in samples)},
            "truncation_rate": {t: sum(s["finish_reason"] == "length" for s in samples
                                       if s["task"] == t) / max(1, tasks[t]) for t in names},
            "status_counts": {t: {"correct": 0, "incorrect": 0, "no_answer": 1, "parse_error": 0,
                                  "timeout": 0, "error": 0} for t in names},
            "pass_at_k": None,
            "maj_at_k": None,
        },
    }
    (folder / "run.json").write_text(json.dumps(run, indent=1, ensure_ascii=False), encoding="utf-8")
    with (folder / "samples.jsonl").open("w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    return folder


def write_reported(results: Path, table_id: str, rows: list[dict[str, Any]], *,
                   name: str | None = None, **fields: Any) -> Path:
    """A published-rows file of the user's: results/reported/<name or id>.json."""
    folder = results / "reported"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"schema": "mwpbench-reported/1", "id": table_id, "title": f"table {table_id}",
            "citation": f"Someone et al., {table_id}", "protocol": "zero-shot",
            "source": "mwpbench", "grader": "official", "datasets": ["gsm8k", "math"],
            "rows": rows, **fields}  # fmt: skip
    path = folder / f"{name or table_id}.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def full_run_tasks() -> dict[str, int]:
    """The 18,408-problem size of the whole benchmark, split over the ten datasets."""
    return {t: n for t, (n, _) in TASKS.items()}
