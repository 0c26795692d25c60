"""Present runs: terminal and markdown tables of metrics and comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mwpbench.types import GRADERS


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _acc(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("accuracy") is None:
        return "-"
    se = block.get("stderr")
    return f"{100 * block['accuracy']:.1f}" + ("" if se is None else f" ±{100 * se:.1f}")


def render(rows: Sequence[Sequence[str]], *, markdown: bool = False, rule_before: int = -1) -> str:
    """Rows (the first is the header) as aligned text columns or a markdown table."""
    if markdown:
        head, *body = rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r: Sequence[str]) -> str:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        return "  ".join(cells).rstrip()

    out = [line(rows[0]), "-" * len(line(rows[0]))]
    for i, r in enumerate(rows[1:], 1):
        if i == rule_before:
            out.append("-" * len(line(rows[0])))
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


__all__ = ["comparison_table", "metrics_table", "render", "run_summary"]
