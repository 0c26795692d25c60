"""Plain-text and markdown tables: a run's metrics, a comparison of two runs, the task list
and a task's definition (`mwpbench tasks`), the data checks (`check-data`). One renderer,
`render`, draws them all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mwpbench import config
from mwpbench.datasets import list_tasks
from mwpbench.types import GRADERS, Problem

if TYPE_CHECKING:  # pragma: no cover
    from mwpbench.datacheck import TaskCheck


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _acc(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("accuracy") is None:
        return "-"
    se = block.get("stderr")
    return f"{100 * block['accuracy']:.1f}" + ("" if se is None else f" ±{100 * se:.1f}")


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


def metrics_table(run: Mapping[str, Any], *, subsets: bool = False, markdown: bool = False) -> str:
    """Per dataset: n, strict and official accuracy (% ± stderr), disagreements, truncation,
    errors and timeouts; then micro and macro. The headline grader is marked with *."""
    metrics = run.get("metrics")
    if not metrics:
        return "(no metrics: the run has not been graded yet; finish it with --resume)"
    headline = run.get("graders", {}).get("headline", "strict")
    mark = {g: ("*" if g == headline else "") for g in GRADERS}
    rows = [["dataset", "n", f"strict{mark['strict']} %", f"official{mark['official']} %",
             "disagree", "trunc %", "errors", "timeouts"]]  # fmt: skip
    strict, official = metrics["strict"], metrics["official"]
    for task, block in strict["datasets"].items():
        counts = metrics.get("status_counts", {}).get(task, {})
        rows.append([
            task, str(block["n"]), _acc(block), _acc(official["datasets"].get(task)),
            str(metrics.get("disagreements", {}).get(task, 0)),
            _pct(metrics.get("truncation_rate", {}).get(task)),
            str(counts.get("error", 0)), str(counts.get("timeout", 0)),
        ])  # fmt: skip
        if subsets:
            for name, sub in block.get("subsets", {}).items():
                rows.append([f"  {name}", str(sub["n"]), _acc(sub),
                             _acc(official["datasets"][task]["subsets"].get(name)),
                             "", "", "", ""])  # fmt: skip
    split = len(rows)
    total = metrics.get("disagreements", {}).get("total", 0)
    rows.append(["micro", str(strict["micro"]["n"]), _acc(strict["micro"]),
                 _acc(official["micro"]), str(total), "", "", ""])  # fmt: skip
    rows.append(["macro", f"{strict['macro']['n']} sets", _acc(strict["macro"]),
                 _acc(official["macro"]), "", "", "", ""])  # fmt: skip
    text = render(rows, markdown=markdown, rule_before=split)
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


def run_summary(run: Mapping[str, Any], path: str | None = None) -> str:
    """A few lines saying what the run was."""
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
    return "\n".join(lines)


def comparison_table(cmp: Mapping[str, Any], *, markdown: bool = False, flips: int = 10) -> str:
    """Per-dataset accuracy of A and B, delta, discordant counts and McNemar p; then up to
    `flips` flipped problems per dataset."""
    rows = [["dataset", "n", "A %", "B %", "delta", "A only", "B only", "p (McNemar)"]]

    def row(name: str, b: Mapping[str, Any]) -> list[str]:
        delta = "-" if b["delta"] is None else f"{100 * b['delta']:+.1f}"
        return [name, str(b["n"]), _pct(b["accuracy_a"]), _pct(b["accuracy_b"]), delta,
                str(b["a_only"]), str(b["b_only"]), f"{b['p_value']:.3g}"]  # fmt: skip

    for task, block in cmp["datasets"].items():
        rows.append(row(task, block))
    split = len(rows)
    rows.append(row("all (paired)", cmp["micro"]))
    head = f"A = {cmp.get('run_a')}\nB = {cmp.get('run_b')}\ngrader: {cmp.get('grader')}"
    text = head + "\n\n" + render(rows, markdown=markdown, rule_before=split)
    if cmp.get("unpaired_a") or cmp.get("unpaired_b"):
        text += (f"\n\nunpaired samples (left out): {cmp['unpaired_a']} only in A, "
                 f"{cmp['unpaired_b']} only in B")  # fmt: skip
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
        rows.append([name, spec.level, lang, "mwpbench,native", spec.paper_n or "-", in_suites])
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


def _share(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "-"


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
            c.task, c.source, c.n, dropped or "-", _share(c.parsed, c.n), _share(c.self_equal, c.n),
            _share(c.solutions_correct, c.solutions), _check_status(c),
        ])  # fmt: skip
    out = [render([["task", "source", "n", "dropped", "gold parses", "gold == gold",
                    "solution correct", "status"], *rows], numbers=False)]  # fmt: skip
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
                if by_kind[f.check] <= max_failures:
                    shown.append([f.task, f.check, f.id, f.detail.replace("\n", " ")[:140]])
        out += ["", f"failures ({len(failures)}; up to {max_failures} per task and check):",
                render([["task", "check", "id", "why"], *shown], numbers=False)]  # fmt: skip
    return "\n".join(out)


__all__ = [
    "check_tables",
    "comparison_table",
    "metrics_table",
    "render",
    "run_summary",
    "task_details",
    "tasks_table",
]
