"""Plain-text and markdown tables: a run's metrics, a comparison of two runs, the task list
and a task's definition (`mwpbench tasks`), the data checks (`check-data`). One renderer,
`render`, draws them all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mwpbench import config
from mwpbench.datasets import list_tasks
from mwpbench.types import GRADERS, Problem

if TYPE_CHECKING:  # pragma: no cover
    from mwpbench.datacheck import TaskCheck


NA = "n/a"
"""What a table shows for an accuracy over nothing (0/0) or over samples that all failed."""


def _pct(x: float | None) -> str:
    return NA if x is None else f"{100 * x:.1f}"


def _acc(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("accuracy") is None:
        return NA
    se = block.get("stderr")
    return f"{100 * block['accuracy']:.1f}" + ("" if se is None else f" ±{100 * se:.1f}")


def missing_counts(samples: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """task -> (samples without a completion: failed or missing generations, samples)."""
    from mwpbench.results import generation_failed

    out: dict[str, list[int]] = {}
    for r in samples:
        counts = out.setdefault(str(r.get("task")), [0, 0])
        counts[0] += generation_failed(r)
        counts[1] += 1
    return {task: (k, n) for task, (k, n) in out.items()}


def render(
    rows: Sequence[Sequence[object]],
    *,
    markdown: bool = False,
    rule_before: int = -1,
    numbers: bool = True,
) -> str:
    """Rows (the first is the header) as aligned text columns or a markdown table. The first
    column is left-aligned; the others are right-aligned (`numbers`) or left-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    if markdown:
        head, *body = cells
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]

    def line(r: Sequence[str]) -> str:
        rest = [c.rjust(w) if numbers else c.ljust(w) for c, w in zip(r[1:], widths[1:])]
        return "  ".join([r[0].ljust(widths[0]), *rest]).rstrip()

    header = line(cells[0])
    out = [header, "-" * len(header)]
    for i, r in enumerate(cells[1:], 1):
        if i == rule_before:
            out.append("-" * len(header))
        out.append(line(r))
    return "\n".join(out)


def metrics_table(
    run: Mapping[str, Any],
    *,
    subsets: bool = False,
    markdown: bool = False,
    missing: Mapping[str, tuple[int, int]] | None = None,
) -> str:
    """Per dataset: n, strict and official accuracy (% ± stderr), disagreements, truncation,
    missing generations and timeouts; then micro and macro. The headline grader is marked
    with *. `missing` (task -> (failed, samples), see `missing_counts`) makes the table
    honest about generations that never came: a dataset with none shows n/a, not 0.0, and
    an accuracy that counts missing samples as wrong is flagged with `!`."""
    metrics = run.get("metrics")
    if not metrics:
        return "(no metrics: the run has not been graded yet; finish it with --resume)"
    missing = missing if missing is not None else _missing_from_metrics(metrics)
    headline = run.get("graders", {}).get("headline", "strict")
    mark = {g: ("*" if g == headline else "") for g in GRADERS}
    rows = [["dataset", "n", f"strict{mark['strict']} %", f"official{mark['official']} %",
             "disagree", "trunc %", "missing", "timeouts"]]  # fmt: skip
    strict, official = metrics["strict"], metrics["official"]
    lost = sum(k for k, _ in missing.values())
    empty = {task for task, (k, n) in missing.items() if n and k == n}

    def cell(block: Mapping[str, Any] | None, task: str | None) -> str:
        if task in empty:
            return NA
        text = _acc(block)
        partial = missing.get(task, (0, 0))[0] if task else lost
        return text + " !" if partial and text != NA else text

    for task, block in strict["datasets"].items():
        counts = metrics.get("status_counts", {}).get(task, {})
        k, n = missing.get(task, (0, 0))
        rows.append([
            task, str(block["n"]), cell(block, task), cell(official["datasets"].get(task), task),
            str(metrics.get("disagreements", {}).get(task, 0)),
            _pct(metrics.get("truncation_rate", {}).get(task)),
            f"{k}/{n}" if k else "0", str(counts.get("timeout", 0)),
        ])  # fmt: skip
        if subsets:
            for name, sub in block.get("subsets", {}).items():
                rows.append([f"  {name}", str(sub["n"]), _acc(sub),
                             _acc(official["datasets"][task]["subsets"].get(name)),
                             "", "", "", ""])  # fmt: skip
    split = len(rows)
    total = metrics.get("disagreements", {}).get("total", 0)
    every = sum(n for _, n in missing.values())
    all_lost = bool(every) and lost == every
    micro = [NA if all_lost else cell(b["micro"], None) for b in (strict, official)]
    rows.append(["micro", str(strict["micro"]["n"]), *micro, str(total), "",
                 f"{lost}/{every}" if lost else "", ""])  # fmt: skip
    # a mean over the datasets is no mean when one of them has no answers at all
    macro = [NA if empty else cell(b["macro"], None) for b in (strict, official)]
    rows.append(["macro", f"{strict['macro']['n']} sets", *macro, "", "", "", ""])
    text = render(rows, markdown=markdown, rule_before=split)
    if lost:
        text += "\n\n" + _missing_note(missing, empty)
    for name in ("pass_at_k", "maj_at_k"):
        blocks = metrics.get(name)
        if blocks:
            label = name.replace("_at_", "@")
            head = ["dataset"] + [f"{label.replace('k', k)} %" for k in blocks]
            first = next(iter(blocks.values()))
            extra = [head]
            for task in first["datasets"]:
                extra.append([task] + [_acc(b["datasets"][task]) for b in blocks.values()])
            extra.append(["micro"] + [_acc(b["micro"]) for b in blocks.values()])
            extra.append(["macro"] + [_acc(b["macro"]) for b in blocks.values()])
            text += "\n\n" + render(extra, markdown=markdown, rule_before=len(extra) - 2)
    return text


def _missing_from_metrics(metrics: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Without the samples: status "error" per dataset (failed generations, and the rare
    internal grading failure) over its item count."""
    out = {}
    for task, block in metrics["strict"]["datasets"].items():
        counts = metrics.get("status_counts", {}).get(task, {})
        out[task] = (int(counts.get("error", 0)), int(sum(counts.values()) or block["n"]))
    return out


def _missing_note(missing: Mapping[str, tuple[int, int]], empty: set[str]) -> str:
    lines = []
    if empty:
        lines.append("n/a: " + ", ".join(f"{t} ({missing[t][1]}/{missing[t][1]} missing)"
                                          for t in sorted(empty)) + " -- no accuracy without "
                     "answers, and no macro average without every dataset")  # fmt: skip
    partial = [t for t, (k, n) in missing.items() if k and t not in empty]
    if partial:
        lines.append("!: " + ", ".join(f"{t} ({missing[t][0]}/{missing[t][1]} missing)"
                                       for t in partial) + " -- missing samples count as "
                     "wrong, so these accuracies are lower bounds")  # fmt: skip
    return "\n".join(lines)


def expected_samples(run: Mapping[str, Any]) -> int:
    """How many sample lines the run makes when it is whole: its problems times n."""
    problems = sum(int(t.get("n", 0)) for t in run.get("tasks", []) if isinstance(t, Mapping))
    return problems * int(run.get("sampling", {}).get("n") or 1)


def run_summary(run: Mapping[str, Any], path: str | None = None, *,
                stored: int | None = None) -> str:
    """A few lines saying what the run was; with `stored` (sample lines on disk), how much
    of an unfinished run is there."""
    model = run.get("model", {})
    sampling = run.get("sampling", {})
    counts = run.get("counts", {})
    timings = run.get("timings", {})
    lines = [
        f"run:      {run.get('run_id')}  ({run.get('status')})" + (f"  {path}" if path else ""),
        f"model:    {model.get('name')}  backend={model.get('backend')}",
        f"tasks:    {run.get('suite') or ','.join(t['name'] for t in run.get('tasks', []))}"
        f"  source={run.get('source')}" + ("  [paper mode]" if run.get("official_mode") else ""),
        f"prompt:   {run.get('prompt', {}).get('name')}  "
        f"sampling: T={sampling.get('temperature')} top_p={sampling.get('top_p')} "
        f"n={sampling.get('n')} max_tokens={sampling.get('max_tokens')}",
        f"samples:  {counts.get('samples', 0)}  generation errors={counts.get('generation_errors', 0)}"
        f"  grading timeouts={counts.get('timeouts', 0)}"
        + (f"  total {timings['total_s']:.1f}s" if isinstance(timings.get("total_s"), float) else ""),
    ]  # fmt: skip
    if run.get("shard"):
        lines.append(f"shard:    {run['shard']['shard_index']} of {run['shard']['num_shards']}")
    expected = expected_samples(run)
    if stored is not None and run.get("status") != "complete" and stored < expected:
        lines.append(f"stored:   {stored} of {expected} samples -- the run stopped before the "
                     "end; the same eval command plus --resume finishes it")  # fmt: skip
    return "\n".join(lines)


def incomplete_report(
    run: Mapping[str, Any],
    samples: Sequence[Mapping[str, Any]],
    *,
    replay_keys: tuple[str, Sequence[str]] | None = None,
    limit: int = 5,
) -> str | None:
    """What is missing from a run that ended without every completion, and what to do
    about it (advice fitted to the backend); None when the run is whole. `replay_keys`:
    ("id" or "question", the first values of the predictions file) for a replay run."""
    from mwpbench.results import generation_failed

    expected = expected_samples(run)
    failed = [r for r in samples if generation_failed(r)]
    absent = max(0, expected - len(samples))
    if not failed and not absent:
        return None
    lines = [f"{len(failed) + absent} of {expected} samples have no completion (failed or "
             "missing generations)"]  # fmt: skip
    ids = list(dict.fromkeys(str(r.get("id")) for r in failed))
    if ids:
        more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
        lines.append("first missing problem ids: " + ", ".join(ids[:limit]) + more)
    if run.get("model", {}).get("backend") == "replay":
        kind, seen = replay_keys or ("id", [])
        if seen:
            shown = ", ".join(repr(v if len(v) <= 60 else v[:57] + "...") for v in seen)
            lines.append(f"the predictions file's {kind}s look like: {shown}")
        hint = _id_hint(ids, list(seen), str(run.get("source"))) if kind == "id" else (
            "rows are matched by question text, which must equal the problem's question (the "
            "ends' whitespace aside)")  # fmt: skip
        if hint:
            lines.append(hint)
        lines.append(
            "Fix the predictions file (`mwpbench export` writes the problem ids), then run the "
            "same command plus --resume: the completions already stored are kept and only the "
            "missing ones are read, from the --predictions file(s) given then (a new file name "
            "is fine)."
        )
    else:
        errors = [str(r.get("error")) for r in failed if r.get("error")]
        if errors:
            lines.append(f"first error: {errors[0]}")
        lines.append("Run the same command plus --resume to generate them again (the samples "
                     "already stored are kept).")  # fmt: skip
    return "\n".join(lines)


def _id_hint(wanted: Sequence[str], seen: Sequence[str], source: str) -> str | None:
    """Why the file's ids may not match: another source, or not mwpbench ids at all."""
    if not seen:
        return None
    parts = [s.split("/") for s in seen]
    if all(len(p) >= 3 for p in parts):
        sources = {p[1] for p in parts} - {source}
        if sources:
            other = sorted(sources)[0]
            return (f"the file's ids are for --source {other}, this run reads --source "
                    f"{source}: add --source {other}, or export the prompts of this source")
        return None
    example = wanted[0] if wanted else "<task>/<source>/<original id>"
    return (f"the file's ids are not mwpbench problem ids, which read <task>/<source>/<original "
            f"id> (e.g. {example!r})")


def no_pairs_message(a: Any, b: Any, cmp: Mapping[str, Any] | None = None,
                     limit: int = 3) -> str:  # fmt: skip
    """Why two runs (RunResults) cannot be compared: they share no (problem id, sample
    index), or none with a completion in both (`cmp`: their comparison); what their ids
    look like."""
    lost = (cmp or {}).get("missing_a", 0) + (cmp or {}).get("missing_b", 0)
    if lost:
        return (f"no paired samples: the {lost} samples {a.run_id} and {b.run_id} share have "
                f"no completion in one of them ({(cmp or {}).get('missing_a', 0)} in A, "
                f"{(cmp or {}).get('missing_b', 0)} in B: failed or missing generations). "
                "Finish the runs (the same eval command plus --resume), then compare.")  # fmt: skip

    def ids(run: Any) -> str:
        seen = list(dict.fromkeys(str(r.get("id")) for r in run.samples))
        return ", ".join(seen[:limit]) + (" ..." if len(seen) > limit else "") or "no samples"

    def what(run: Any) -> str:
        tasks = ",".join(run.task_names) or "-"
        return f"tasks {tasks}, --source {run.run.get('source')}"

    return (f"no paired samples: {a.run_id} and {b.run_id} share no (problem id, sample index), "
            "so there is nothing to compare.\n"
            f"A ({what(a)}): {ids(a)}\nB ({what(b)}): {ids(b)}\n"
            "Compare two runs of the same tasks from the same --source.")  # fmt: skip


def comparison_table(cmp: Mapping[str, Any], *, markdown: bool = False, flips: int = 10) -> str:
    """Per-dataset accuracy of A and B, delta, discordant counts and McNemar p; then up to
    `flips` flipped problems per dataset."""
    rows = [["dataset", "n", "A %", "B %", "delta", "A only", "B only", "p (McNemar)"]]

    def row(name: str, b: Mapping[str, Any]) -> list[str]:
        delta = NA if b["delta"] is None else f"{100 * b['delta']:+.1f}"
        p = NA if not b["n"] else "<1e-4" if b["p_value"] < 1e-4 else f"{b['p_value']:.3g}"
        return [name, str(b["n"]), _pct(b["accuracy_a"]), _pct(b["accuracy_b"]), delta,
                str(b["a_only"]), str(b["b_only"]), p]  # fmt: skip

    for task, block in cmp["datasets"].items():
        rows.append(row(task, block))
    split = len(rows)
    rows.append(row("all (paired)", cmp["micro"]))
    head = f"A = {cmp.get('run_a')}\nB = {cmp.get('run_b')}\ngrader: {cmp.get('grader')}"
    text = head + "\n\n" + render(rows, markdown=markdown, rule_before=split)
    if cmp.get("unpaired_a") or cmp.get("unpaired_b"):
        text += (f"\n\nunpaired samples (left out): {cmp['unpaired_a']} only in A, "
                 f"{cmp['unpaired_b']} only in B")  # fmt: skip
    if cmp.get("missing_a") or cmp.get("missing_b"):
        text += (f"\npairs left out because a run has no completion (failed or missing "
                 f"generations): {cmp.get('missing_a', 0)} in A, {cmp.get('missing_b', 0)} in B "
                 "-- finish those runs with --resume to compare them whole")  # fmt: skip
    if flips:
        out = []
        for task, block in cmp["datasets"].items():
            flipped = block.get("flipped", [])
            if not flipped:
                continue
            out.append(f"{task}: {len(flipped)} flipped")
            for f in flipped[:flips]:
                arrow = "A right -> B wrong" if f["a"] else "A wrong -> B right"
                out.append(f"  {f['id']}#{f['sample_index']}: {arrow} (gold {f['gold']!r}, "
                           f"A {f['extracted_a']!r}, B {f['extracted_b']!r})")  # fmt: skip
            if len(flipped) > flips:
                out.append(f"  ... {len(flipped) - flips} more")
        if out:
            text += "\n\n" + "\n".join(out)
    return text


# --- tasks and data checks ------------------------------------------------------------


def tasks_table() -> str:
    """task, level, language, sources, n (the paper's count)."""
    specs = config.load_tasks()
    suites = config.load_suites()
    rows = []
    for name in list_tasks():
        spec = specs[name]
        lang = "en" if spec.language == "en" else f"en (native: {spec.language})"
        in_suites = ",".join(s for s, suite in suites.items() if name in suite.tasks) or "-"
        rows.append([name, spec.level, lang, ",".join(spec.sources), spec.paper_n or "-",
                     in_suites])  # fmt: skip
    return render([["task", "level", "language", "sources", "n (paper)", "suites"], *rows],
                  numbers=False)


def task_details(name: str, problems: Sequence[Problem] = ()) -> str:
    spec = config.get_task(name)
    lines = [
        f"task:        {spec.name} (version {spec.version}, adapter {spec.adapter})",
        f"description: {spec.description}",
        f"level:       {spec.level}",
        f"language:    native {spec.language}; release en (translated: {spec.translated})",
        f"subsets:     {', '.join(spec.subsets)}",
        f"label:       {spec.label} ({spec.short_label})",
        f"prompt:      {spec.prompt} (the default; --prompt overrides it)",
        f"n (paper):   {spec.paper_n}",
    ]
    for kind, src in spec.sources.items():
        for fname, f in src.files.items():
            pin = f"git blob {f.git_blob}" if f.git_blob else f"sha256 {f.sha256}"
            lines.append(f"source:      {kind}/{fname}: {f.url} ({pin})")
    for p in problems:
        lines += [
            "",
            f"[{p.id}] subset={p.subset} level={p.level} language={p.language}",
            f"Q: {p.question}",
            f"A: {p.answer}",
        ]
        if p.solution:
            lines.append(f"S: {p.solution[:300]}{'...' if len(p.solution) > 300 else ''}")
    return "\n".join(lines)


def share(k: int, n: int) -> str:
    """`k/n (p%)`, or n/a for 0/0."""
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else NA



def graded_nothing_message(file: Any, summary: Any, spec: Any) -> str:
    """Why `grade FILE` graded nothing (a BatchSummary with total 0) and what to pass."""
    from mwpbench.harnesses import describe, guess_preset

    lines = [f"nothing graded: no line of {file} has a completion at {spec.completion!r} and a "
             f"gold at {spec.gold!r}"]  # fmt: skip
    if summary.skipped:
        number, reason = summary.skipped[0]
        lines.append(f"{len(summary.skipped)} line(s) skipped; line {number}: {reason}")
    row = summary.first_row
    if row is not None:
        lines.append(f"the first line has {describe(row)}")
        guess = guess_preset(row)
        if guess not in (None, "mwpbench"):
            lines.append(f"it looks like {guess} output: add --preset {guess}")
        else:
            lines.append("name the fields with --completion-key and --gold-key (dotted paths, "
                         "e.g. --completion-key output.text --gold-key answer)")  # fmt: skip
    else:
        lines.append("the file has no JSON object lines")
    return "\n".join(lines)


def _check_status(c: TaskCheck) -> str:
    if any(f.check == "load" for f in c.failures):
        return "LOAD FAILED"
    bad = len({f.id for f in c.failures if f.check in ("parse", "self")})
    return "ok" if c.ok else f"{bad} bad gold{'s' if bad != 1 else ''}"


def check_tables(checks: Sequence[TaskCheck], *, max_failures: int = 20) -> str:
    """Counts per task and subset, then the failures table."""
    rows = []
    for c in checks:
        dropped = sum(c.dropped.values())
        rows.append([
            c.task, c.source, c.n, dropped or "-", share(c.parsed, c.n), share(c.self_equal, c.n),
            share(c.ceiling, c.n), share(c.solutions_correct, c.solutions), _check_status(c),
        ])  # fmt: skip
    out = [render([["task", "source", "n", "dropped", "gold parses", "gold == gold",
                    "ceiling", "solution correct", "status"], *rows], numbers=False)]  # fmt: skip
    sub_rows = [
        [c.task, s, k] for c in checks if len(c.subsets) > 1 for s, k in c.subsets.most_common()
    ]
    if sub_rows:
        out += ["", render([["task", "subset", "n"], *sub_rows], numbers=False)]
    drop_rows = [[c.task, r, k] for c in checks for r, k in c.dropped.most_common()]
    if drop_rows:
        out += ["", render([["task", "dropped because", "n"], *drop_rows], numbers=False)]
    failures = [f for c in checks for f in c.failures]
    if failures:
        shown = []
        for c in checks:
            by_kind: dict[str, int] = {}
            for f in c.failures:
                by_kind[f.check] = by_kind.get(f.check, 0) + 1
                if by_kind[f.check] <= max_failures and f.check != "load":
                    shown.append([f.task, f.check, f.id, f.detail.replace("\n", " ")[:140]])
        if shown:
            out += ["", f"failures ({len(failures)}; up to {max_failures} per task and check):",
                    render([["task", "check", "id", "why"], *shown], numbers=False)]  # fmt: skip
    loads = [f for f in failures if f.check == "load"]
    if loads:  # never cut short: the whole message says what to do
        out += ["", "could not load:"] + [
            f.detail if f.detail.startswith(f"task {f.task}") else f"task {f.task}: {f.detail}"
            for f in loads
        ]
    return "\n".join(out)


__all__ = [
    "NA",
    "check_tables",
    "comparison_table",
    "expected_samples",
    "incomplete_report",
    "metrics_table",
    "graded_nothing_message",
    "missing_counts",
    "no_pairs_message",
    "render",
    "run_summary",
    "share",
    "task_details",
    "tasks_table",
]
