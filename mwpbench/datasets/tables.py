"""Plain-text tables for the dataset commands (`mwpbench tasks`, `tasks show`, `check-data`)."""

from __future__ import annotations

from collections.abc import Sequence

from mwpbench import config
from mwpbench.datasets.check import TaskCheck
from mwpbench.datasets.loader import list_tasks
from mwpbench.types import Problem


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
    return table(["task", "level", "language", "sources", "n (paper)", "suites"], rows)


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


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "-"


def _status(c: TaskCheck) -> str:
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
            c.task, c.source, c.n, dropped or "-", _pct(c.parsed, c.n), _pct(c.self_equal, c.n),
            _pct(c.solutions_correct, c.solutions), _status(c),
        ])  # fmt: skip
    out = [table(["task", "source", "n", "dropped", "gold parses", "gold == gold",
                  "solution correct", "status"], rows)]  # fmt: skip
    sub_rows = [
        [c.task, s, k] for c in checks if len(c.subsets) > 1 for s, k in c.subsets.most_common()
    ]
    if sub_rows:
        out += ["", table(["task", "subset", "n"], sub_rows)]
    drop_rows = [[c.task, r, k] for c in checks for r, k in c.dropped.most_common()]
    if drop_rows:
        out += ["", table(["task", "dropped because", "n"], drop_rows)]
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
                table(["task", "check", "id", "why"], shown)]  # fmt: skip
    return "\n".join(out)
