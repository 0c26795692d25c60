"""results/ -> a static HTML leaderboard: index.html, one page per run, a sample browser.

The site works from ``file://`` and from any static host: no server, no network, no CDN.
Pages are rendered with Jinja2 (autoescape on); data read by JavaScript is written as
``<script src>`` files (``fetch`` is forbidden on ``file://``) through `js_literal`, which
escapes ``<``, ``>``, ``&`` and U+2028/U+2029 so nothing a model wrote can close a tag.

Rows are grouped into sections: one per (source, item limit, task-version set). Two runs
share a section only when every task they both ran has the same version, so a column never
mixes versions, sources or item sets. Published rows from ``results/reported/*.json`` join
every section they are comparable with (release file, official grader, paper cap).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from mwpbench import __version__
from mwpbench.config import shipped_dir
from mwpbench.errors import ConfigError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
REPORTED_DIR = "reported"
SAMPLE_CHUNK = 250  # samples per text file of the sample browser
PAPER_CAP = 2000  # the official driver's first-N items per data_topic

# Display order and labels; tasks not listed here follow in alphabetical order.
DATASETS: dict[str, tuple[str, str]] = {
    "gsm8k": ("GSM8K", "GSM8K"),
    "math": ("MATH", "MATH"),
    "college_math": ("College", "CollegeMath"),
    "tal_scq": ("TAL", "TAL-SCQ"),
    "math23k": ("Math23k", "Math23k"),
    "ape210k": ("Ape210k", "Ape210k"),
    "gaokaobench_math": ("Gaokao", "GaokaoBench-Math"),
    "agieval_gaokao_math": ("AGI-Gk", "AGIEval-Gaokao-Math"),
    "agieval_sat_math": ("AGI-SAT", "AGIEval-SAT-Math"),
    "agieval_math": ("AGI-MATH", "AGIEval-MATH"),
    "fresh_gaokao_math_2023": ("Fresh-Gk", "Fresh-GaokaoMath-2023"),
}
SOURCES = {"mwpbench": "release", "native": "native"}


@dataclass
class Cell:
    """One number of the main table, under both graders (percent, or None)."""

    strict: float | None = None
    official: float | None = None
    n: int | None = None
    stderr_strict: float | None = None
    stderr_official: float | None = None
    best_strict: bool = False
    best_official: bool = False
    note: str | None = None  # e.g. "partial: 120 of 1319", "8 datasets"


@dataclass(frozen=True)
class Column:
    key: str  # task name, subset name, "micro" or "macro"
    label: str
    title: str
    kind: str  # "dataset" | "subset" | "avg"
    parent: str | None = None  # the dataset of a subset column
    has_subsets: bool = False


@dataclass
class Row:
    """A run (from run.json) or a published row (from results/reported/)."""

    kind: str  # "run" | "reported"
    key: str  # unique, filename-safe
    model: str
    backend: str
    prompt: str
    date: str
    source: str  # "mwpbench" | "native"
    limit: int | None
    versions: dict[str, str]
    cells: dict[str, Cell]
    graders: tuple[str, ...]
    subsets: dict[str, list[str]] = field(default_factory=dict)  # task -> its subset keys
    status: str = "complete"
    run_id: str | None = None
    href: str | None = None
    prompt_hash: str | None = None
    suite: str | None = None
    official_mode: bool = False
    badges: list[str] = field(default_factory=list)
    citation: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    path: Path | None = None

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def version_summary(self) -> str:
        return version_summary(self.versions)


@dataclass
class Section:
    """Rows whose columns are comparable: same source, item limit, and task versions."""

    key: str
    source: str
    limit: int | None
    versions: dict[str, str]
    rows: list[Row] = field(default_factory=list)

    @property
    def title(self) -> str:
        source = "MWPBench release file" if self.source == "mwpbench" else "native datasets"
        if self.limit == PAPER_CAP:
            items = f"paper protocol: first {PAPER_CAP} items per data_topic"
        elif self.limit is None:
            items = "all items"
        else:
            items = f"limited to {self.limit} items per task"
        versions = version_summary(self.versions) if self.versions else "as published"
        return f"{source} · {items} · task versions: {versions}"


@dataclass
class Leaderboard:
    columns: list[Column]
    sections: list[Section]
    runs: list[Row]
    reported: list[Row]
    skipped: list[tuple[str, str]]  # (path, reason)
    citations: list[dict[str, Any]]


# --- public entry ------------------------------------------------------------------------


def default_out_dir(results_dir: str | Path) -> Path:
    """``RESULTS_DIR/../leaderboard/site`` (``leaderboard/site/`` for ``results/``)."""
    return Path(results_dir).resolve().parent / "leaderboard" / "site"


def build_leaderboard(results_dir: str | Path = "results", out_dir: str | Path | None = None) -> Path:
    """Render every run under `results_dir` (and its published rows) into `out_dir`.

    Returns the path of the written ``index.html``. `out_dir` defaults to
    `default_out_dir(results_dir)`; files the site owns are overwritten, others are kept.
    """
    return render_site(results_dir, out_dir)[0]


def render_site(results_dir: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Leaderboard]:
    """`build_leaderboard`, also returning the table model (runs, reported rows, skipped)."""
    results = Path(results_dir)
    if not results.is_dir():
        raise ConfigError(f"results directory {results} does not exist; run `mwpbench eval` "
                          "first or pass the folder that holds your run directories")
    out = Path(out_dir) if out_dir is not None else default_out_dir(results)
    runs_out = out / "runs"
    if out.resolve() == results.resolve() or (runs_out.is_dir() and any(runs_out.rglob("run.json"))):
        raise ConfigError(f"{out} holds run directories; refusing to write the site over them. "
                          "Pass an output folder of its own with -o")
    board = collect(results)
    env = _environment()
    out.mkdir(parents=True, exist_ok=True)
    _copy_static(out / "static")
    if runs_out.is_dir():
        shutil.rmtree(runs_out)
    runs_out.mkdir()

    options = _compare_options(board)
    for row in board.runs:
        _write_run(env, board, row, options, runs_out)
    index = out / "index.html"
    html = env.get_template("index.html.jinja").render(
        board=board, columns=board.columns, version=__version__, fmt=fmt_pct, fmt_se=fmt_se,
        root="",
    )
    _write_text(index, html)
    logger.info("leaderboard: %d run(s), %d reported row(s) -> %s",
                len(board.runs), len(board.reported), index)
    return index, board


# --- reading -------------------------------------------------------------------------------


def collect(results_dir: str | Path) -> Leaderboard:
    """Read every run.json and reported file under `results_dir` into the table model."""
    results = Path(results_dir)
    runs, skipped = load_runs(results)
    reported, citations, bad = load_reported(results)
    skipped += bad
    columns = _columns(runs, reported)
    sections = _sections(runs, reported)
    for section in sections:
        _mark_section(section, columns)
    return Leaderboard(columns, sections, runs, reported, skipped, citations)


def load_runs(results_dir: Path) -> tuple[list[Row], list[tuple[str, str]]]:
    """Every ``run.json`` below `results_dir` (outside ``reported/``), as table rows."""
    rows: list[Row] = []
    skipped: list[tuple[str, str]] = []
    used: set[str] = set()
    for path in sorted(results_dir.rglob("run.json")):
        rel = path.relative_to(results_dir)
        if rel.parts[0] == REPORTED_DIR:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            row = run_row(data, path.parent)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("leaderboard: skipping %s: %s", path, exc)
            skipped.append((str(rel), f"{type(exc).__name__}: {exc}"))
            continue
        row.key = _unique(_slug(row.run_id or path.parent.name), used)
        row.href = f"runs/{row.key}.html"
        rows.append(row)
    return rows, skipped


def run_row(data: Mapping[str, Any], path: Path | None = None) -> Row:
    """One run.json (docs/run-format.md, schema 1) as a table row."""
    if not isinstance(data, Mapping):
        raise TypeError("run.json is not a JSON object")
    schema = data.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise ValueError(f"schema_version {schema!r} is not {SCHEMA_VERSION}; "
                         "upgrade mwpbench to render this run")
    model = data.get("model") or {}
    tasks = [t for t in data.get("tasks") or [] if isinstance(t, Mapping) and t.get("name")]
    versions = {str(t["name"]): str(t.get("version", "?")) for t in tasks}
    task_n = {str(t["name"]): t.get("n") for t in tasks}
    sources = {str(t.get("source")) for t in tasks if t.get("source")}
    source = str(data.get("source") or (sources.pop() if len(sources) == 1 else "mwpbench"))
    metrics = data.get("metrics") or {}
    graders = data.get("graders") or {}
    stored = tuple(graders.get("stored") or [g for g in ("strict", "official") if g in metrics])
    status = str(data.get("status") or "incomplete")
    limit = data.get("limit")
    limit = int(limit) if isinstance(limit, int | float) and not isinstance(limit, bool) else None

    cells: dict[str, Cell] = {}
    strict = metrics.get("strict") or {}
    official = metrics.get("official") or {}
    names = list(versions) or list(strict.get("datasets") or {})
    subsets: dict[str, list[str]] = {}
    for task in names:
        s = (strict.get("datasets") or {}).get(task) or {}
        o = (official.get("datasets") or {}).get(task) or {}
        cells[task] = _cell(s, o)
        expected = task_n.get(task)
        got = cells[task].n
        if isinstance(expected, int) and isinstance(got, int) and got < expected:
            cells[task].note = f"partial: {got} of {expected} items"
        for sub in sorted(set(s.get("subsets") or {}) | set(o.get("subsets") or {})):
            if sub == task:
                continue
            subsets.setdefault(task, []).append(sub)
            cells[sub] = _cell((s.get("subsets") or {}).get(sub) or {},
                               (o.get("subsets") or {}).get(sub) or {})
    for avg in ("micro", "macro"):
        cells[avg] = _cell(strict.get(avg) or {}, official.get(avg) or {})

    badges: list[str] = []
    if status != "complete":
        badges.append(status)
    shard = data.get("shard")
    if isinstance(shard, Mapping):
        badges.append(f"shard {shard.get('shard_index')}/{shard.get('num_shards')}")
    if limit is not None and not (data.get("official_mode") and limit == PAPER_CAP):
        badges.append(f"limit {limit}")
    if data.get("official_mode"):
        badges.append("paper mode")
    if not metrics:
        badges.append("no metrics")

    prompt = data.get("prompt") or {}
    sampling = data.get("sampling") or {}
    if isinstance(sampling, Mapping) and (sampling.get("n") or 1) > 1:
        badges.append(f"n={sampling.get('n')}")
    return Row(
        kind="run",
        key="",
        run_id=str(data.get("run_id") or (path.name if path else "run")),
        model=str(model.get("name") or "?"),
        backend=str(model.get("backend") or "?"),
        prompt=str(prompt.get("name") or "?"),
        prompt_hash=str(prompt.get("hash") or "") or None,
        date=str(data.get("created_at") or "")[:10],
        source=source,
        suite=data.get("suite"),
        limit=limit,
        official_mode=bool(data.get("official_mode")),
        versions=versions,
        cells=cells,
        graders=stored,
        subsets=subsets,
        status=status,
        badges=badges,
        raw=data,
        path=path,
    )


def load_reported(results_dir: Path) -> tuple[list[Row], list[dict[str, Any]], list[tuple[str, str]]]:
    """Published rows: every ``results/reported/*.json`` (citation, protocol, rows)."""
    rows: list[Row] = []
    citations: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    folder = results_dir / REPORTED_DIR
    if not folder.is_dir():
        return rows, citations, skipped
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            new = reported_rows(data, path.stem)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("leaderboard: skipping %s: %s", path, exc)
            skipped.append((f"{REPORTED_DIR}/{path.name}", f"{type(exc).__name__}: {exc}"))
            continue
        rows += new
        citations.append({
            "id": path.stem,
            "title": data.get("title") or path.stem,
            "citation": data.get("citation") or data.get("source") or "",
            "url": data.get("url") if _is_http(data.get("url")) else None,
            "protocol": data.get("protocol") or "",
            "notes": list(data.get("notes") or []),
            "rows": len(new),
        })
    return rows, citations, skipped


def reported_rows(data: Mapping[str, Any], name: str) -> list[Row]:
    """The rows of one reported file; numbers are percent, as printed, official grader."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rows"), list):
        raise ValueError("a reported file needs a 'rows' list")
    datasets = [str(d) for d in data.get("datasets") or []]
    citation = str(data.get("citation") or data.get("source") or name)
    rows = []
    for i, item in enumerate(data["rows"]):
        if not isinstance(item, Mapping) or not item.get("model"):
            raise ValueError(f"row {i} has no 'model'")
        cells: dict[str, Cell] = {}
        for key in [*datasets, "micro", "macro"]:
            value = _number(item.get(key))
            cells[key] = Cell(official=value)
        limit = data.get("limit", PAPER_CAP)
        rows.append(Row(
            kind="reported",
            key=f"reported-{_slug(name)}-{i}",
            model=str(item["model"]),
            backend="reported",
            prompt=str(data.get("prompt") or "?"),
            date=str(data.get("date") or ""),
            source=str(data.get("source") or "mwpbench"),
            suite=data.get("suite"),
            limit=int(limit) if isinstance(limit, int) else None,
            versions={},
            cells=cells,
            graders=(str(data.get("grader") or "official"),),
            badges=["closed"] if item.get("closed") else [],
            citation=citation,
            raw=item,
        ))
    return rows


# --- the table model ----------------------------------------------------------------------


def _columns(runs: list[Row], reported: list[Row]) -> list[Column]:
    tasks: set[str] = set()
    subsets: dict[str, set[str]] = {}
    for row in [*runs, *reported]:
        tasks.update(row.versions)
        tasks.update(k for k in row.cells if k not in ("micro", "macro"))
        for task, subs in row.subsets.items():
            subsets.setdefault(task, set()).update(subs)
    tasks -= {sub for subs in subsets.values() for sub in subs}
    order = [t for t in DATASETS if t in tasks] + sorted(tasks - set(DATASETS))
    columns: list[Column] = [  # the averages first: visible without scrolling sideways
        Column("micro", "Micro", "Micro average: accuracy over all items", "avg"),
        Column("macro", "Macro", "Macro average: mean of the dataset accuracies", "avg"),
    ]
    for task in order:
        short, long = DATASETS.get(task, (task, task))
        subs = sorted(subsets.get(task, ()))
        columns.append(Column(task, short, long, "dataset", has_subsets=bool(subs)))
        for sub in subs:
            label = sub.split(".", 1)[-1].replace("_", " ")
            columns.append(Column(sub, label, f"{long}: {label}", "subset", parent=task))
    return columns


def _datasets_then_averages(columns: list[Column]) -> list[Column]:
    return [c for c in columns if c.kind != "avg"] + [c for c in columns if c.kind == "avg"]


def _sections(runs: list[Row], reported: list[Row]) -> list[Section]:
    """Group runs so that no column mixes source, item limit or task versions."""
    sections: list[Section] = []
    ordered = sorted(runs, key=lambda r: (-len(r.versions), r.date, r.run_id or ""))
    for row in ordered:
        for section in sections:
            if (section.source, section.limit) == (row.source, row.limit) and all(
                section.versions.get(t, v) == v for t, v in row.versions.items()
            ):
                section.versions.update(row.versions)
                section.rows.append(row)
                break
        else:
            sections.append(Section("", row.source, row.limit, dict(row.versions), [row]))
    groups: dict[tuple[str, int | None], list[Row]] = {}
    for row in reported:
        groups.setdefault((row.source, row.limit), []).append(row)
    for (source, limit), rows in groups.items():
        homes = [s for s in sections if (s.source, s.limit) == (source, limit)]
        if not homes:
            homes = [Section("", source, limit, {})]
            sections.append(homes[0])
        for section in homes:  # a copy per section: "best" marks are per section
            section.rows.extend(copy.deepcopy(rows) if len(homes) > 1 else rows)
    sections.sort(key=lambda s: (s.source != "mwpbench", -sum(r.kind == "run" for r in s.rows)))
    for i, section in enumerate(sections):
        section.key = f"s{i}"
        section.rows.sort(key=_default_order)
    return sections


def _default_order(row: Row) -> tuple[int, float, str]:
    cell = row.cells.get("macro") or Cell()
    value = cell.strict if row.kind == "run" else None
    if value is None and row.kind == "run":
        value = cell.official
    return (row.kind != "run", -(value if value is not None else (cell.official or -1.0)),
            row.model)


def _mark_section(section: Section, columns: list[Column]) -> None:
    """Bold the best value per column and grader; flag averages over other dataset sets."""
    counts = {
        id(r): sum(1 for c in columns if c.kind == "dataset" and c.key in r.cells) for r in section.rows
    }
    most = max(counts.values(), default=0)
    for row in section.rows:
        if counts[id(row)] < most:
            for avg in ("micro", "macro"):
                if avg in row.cells:
                    row.cells[avg].note = f"over {counts[id(row)]} of {most} datasets"
    for column in columns:
        for grader in ("strict", "official"):
            eligible = [
                r.cells[column.key] for r in section.rows
                if column.key in r.cells and not r.cells[column.key].note
                and ((r.kind == "run" and r.complete) or (r.kind == "reported" and grader == "official"))
            ]
            values = [round(v, 1) for c in eligible if (v := getattr(c, grader)) is not None]
            if len(values) < 2:
                continue
            top = max(values)
            for c in eligible:
                v = getattr(c, grader)
                if v is not None and round(v, 1) == top:
                    setattr(c, f"best_{grader}", True)


def _cell(strict: Mapping[str, Any], official: Mapping[str, Any]) -> Cell:
    n = strict.get("n") if isinstance(strict.get("n"), int) else official.get("n")
    return Cell(
        strict=_pct(strict.get("accuracy")),
        official=_pct(official.get("accuracy")),
        n=n if isinstance(n, int) else None,
        stderr_strict=_pct(strict.get("stderr")),
        stderr_official=_pct(official.get("stderr")),
    )


def _pct(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else 100.0 * number


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def version_summary(versions: Mapping[str, str]) -> str:
    """``v1`` when every task has version 1, else ``gsm8k v2 · others v1``."""
    if not versions:
        return "—"
    counts: dict[str, int] = {}
    for v in versions.values():
        counts[v] = counts.get(v, 0) + 1
    common = max(counts, key=lambda v: (counts[v], v))
    odd = [f"{t} v{v}" for t, v in versions.items() if v != common]
    if not odd:
        return f"v{common}"
    return " · ".join(odd) + f" · others v{common}"


def fmt_pct(value: float | None) -> str:
    """One decimal, no % sign (the header says %); an en dash for no value."""
    return "–" if value is None else f"{value:.1f}"


def fmt_se(value: float | None) -> str:
    return "" if value is None else f"± {value:.1f}"


# --- the run pages --------------------------------------------------------------------------


def _compare_options(board: Leaderboard) -> list[dict[str, Any]]:
    """Rows a run page can chart itself against: every reported row and every run."""
    dataset_keys = [c.key for c in board.columns if c.kind in ("dataset", "avg")]
    options = []
    for row in [*board.reported, *board.runs]:
        options.append({
            "key": row.key,
            "kind": row.kind,
            "label": row.model + ("" if row.kind == "reported" else f" · {row.run_id}"),
            "source": row.source,
            "limit": row.limit,
            "versions": row.versions,
            "strict": {k: row.cells[k].strict for k in dataset_keys if k in row.cells},
            "official": {k: row.cells[k].official for k in dataset_keys if k in row.cells},
        })
    return options


def _write_run(env: jinja2.Environment, board: Leaderboard, row: Row,
               options: list[dict[str, Any]], out: Path) -> None:
    data = row.raw
    metrics = data.get("metrics") or {}
    samples, bad_lines = read_samples(row.path / "samples.jsonl") if row.path else ([], 0)
    chunks = write_samples(samples, out / row.key)
    table = _run_table(board, row, metrics)
    default = next((o["key"] for o in options if o["kind"] == "reported"), None)
    page_data = {
        "run": {"key": row.key, "label": row.model, "source": row.source, "limit": row.limit,
                "versions": row.versions},
        "columns": [{"key": c.key, "label": c.label, "title": c.title}
                    for c in _datasets_then_averages(board.columns)
                    if c.kind in ("dataset", "avg") and c.key in row.cells],
        "options": options,
        "default_compare": default,
        "samples": {"meta": f"{row.key}/samples.js", "chunk": SAMPLE_CHUNK, "chunks": chunks,
                    "count": len(samples)},
    }
    html = env.get_template("run.html.jinja").render(
        row=row, data=data, table=table, bad_lines=bad_lines, n_samples=len(samples),
        page_data=Markup(js_literal(page_data)), fmt=fmt_pct, fmt_se=fmt_se,
        version=__version__, options=options, default_compare=default, root="../",
        meta=_run_meta(data), disagreements=metrics.get("disagreements") or {},
    )
    _write_text(out / f"{row.key}.html", html)


def _run_table(board: Leaderboard, row: Row, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the per-run results table: datasets, their subsets, micro, macro."""
    trunc = metrics.get("truncation_rate") or {}
    disagree = metrics.get("disagreements") or {}
    statuses = metrics.get("status_counts") or {}
    lines = []
    for column in _datasets_then_averages(board.columns):
        cell = row.cells.get(column.key)
        if cell is None:
            continue
        line = {"key": column.key, "label": column.title if column.kind != "subset" else column.label,
                "kind": column.kind, "cell": cell, "version": row.versions.get(column.key),
                "disagree": disagree.get(column.key), "truncated": _pct(trunc.get(column.key)),
                "statuses": statuses.get(column.key) or {}}
        if column.kind == "avg":
            line["disagree"] = disagree.get("total") if column.key == "micro" else None
        lines.append(line)
    return lines


def _run_meta(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Label/value pairs describing how the run was made (all plain text, escaped later)."""
    model = data.get("model") or {}
    prompt = data.get("prompt") or {}
    graders = data.get("graders") or {}
    counts = data.get("counts") or {}
    timings = data.get("timings") or {}
    tasks = data.get("tasks") or []

    def js(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value not in (None, {}) else "–"

    pairs = [
        ("run id", str(data.get("run_id") or "")),
        ("status", str(data.get("status") or "")),
        ("model", str(model.get("name") or "")),
        ("backend", f"{model.get('backend') or ''} {js(model.get('backend_args'))}"),
        ("source", f"{data.get('source') or ''} (suite: {data.get('suite') or '–'})"),
        ("tasks", ", ".join(
            f"{t.get('name')} v{t.get('version')} (n={t.get('n')}, {t.get('language') or '?'}"
            f"{', sha256 ' + str(t.get('data_sha256'))[:12] if t.get('data_sha256') else ''})"
            for t in tasks if isinstance(t, Mapping))),
        ("prompt", f"{prompt.get('name') or ''} (sha256 {str(prompt.get('hash') or '')[:12]})"),
        ("sampling", js(data.get("sampling"))),
        ("graders", f"headline {graders.get('headline') or '–'}; stored "
                    f"{', '.join(graders.get('stored') or []) or '–'}; timeout "
                    f"{graders.get('timeout', '–')} s"),
        ("paper mode", f"{'yes' if data.get('official_mode') else 'no'}; limit "
                       f"{data.get('limit') if data.get('limit') is not None else 'none'}"),
        ("shard", js(data.get("shard"))),
        ("created", f"{data.get('created_at') or '–'} → {data.get('finished_at') or '–'}"),
        ("timings", ", ".join(f"{k} {v}" for k, v in timings.items()) or "–"),
        ("counts", ", ".join(f"{k} {v}" for k, v in counts.items()) or "–"),
        ("packages", ", ".join(f"{k} {v}" for k, v in (data.get("packages") or {}).items()) or "–"),
        ("git commit", str(data.get("git_commit") or "–")),
    ]
    return pairs


# --- samples -------------------------------------------------------------------------------

_STATUSES = ("correct", "incorrect", "no_answer", "parse_error", "timeout", "error")


def read_samples(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The lines of samples.jsonl (a missing file is no samples); malformed lines counted."""
    samples: list[dict[str, Any]] = []
    bad = 0
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return samples, 0
    with handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(item, dict):
                samples.append(item)
            else:
                bad += 1
    if bad:
        logger.warning("leaderboard: %s: %d malformed line(s) skipped", path, bad)
    return samples, bad


def write_samples(samples: list[dict[str, Any]], folder: Path) -> int:
    """Write the sample browser's data: ``samples.js`` (index) + ``text-NNNNN.js`` chunks.

    The index holds, per sample, the short fields filters need (id, task, subset, verdicts,
    answers); prompts and completions live in chunks of `SAMPLE_CHUNK` samples, loaded only
    for the page on screen. Prompts are stored without their common prefix and suffix (the
    template), which the index carries once. Returns the number of chunks.
    """
    folder.mkdir(parents=True, exist_ok=True)
    prompts = [_text(s.get("prompt")) for s in samples]
    prefix, suffix = _common_affixes(prompts)
    tasks: dict[str, int] = {}
    subsets: dict[str, int] = {}
    rows = []
    for s in samples:
        task = _text(s.get("task"))
        subset = _text(s.get("subset")) or task
        status = s.get("status") if s.get("status") in _STATUSES else "error"
        official = s.get("official_correct")
        rows.append([
            _text(s.get("id")),
            tasks.setdefault(task, len(tasks)),
            subsets.setdefault(subset, len(subsets)),
            s.get("sample_index") if isinstance(s.get("sample_index"), int) else 0,
            _STATUSES.index(status),
            1 if s.get("correct") is True else 0,
            None if official is None else (1 if official is True else 0),
            _maybe_text(s.get("extracted")),
            _maybe_text(s.get("official_extracted")),
            _text(s.get("gold")),
            _maybe_text(s.get("rule")),
            _maybe_text(s.get("method")),
            _text(s.get("finish_reason")),
            _maybe_text(s.get("error")),
        ])
    index = {"tasks": list(tasks), "subsets": list(subsets), "statuses": list(_STATUSES),
             "prefix": prefix, "suffix": suffix, "rows": rows}
    _write_text(folder / "samples.js", f"MWPB.samplesLoaded({js_literal(index)});\n")
    cut = len(prefix)
    chunks = 0
    for start in range(0, len(samples), SAMPLE_CHUNK):
        part = samples[start:start + SAMPLE_CHUNK]
        texts = [[prompts[start + i][cut:len(prompts[start + i]) - len(suffix)],
                  _text(s.get("completion"))] for i, s in enumerate(part)]
        _write_text(folder / f"text-{chunks:05d}.js",
                    f"MWPB.textLoaded({chunks},{js_literal(texts)});\n")
        chunks += 1
    return chunks


def _common_affixes(texts: list[str]) -> tuple[str, str]:
    if len(texts) < 2:
        return "", ""
    first, last = min(texts), max(texts)  # the common prefix of all = that of min and max
    i = 0
    while i < len(first) and first[i] == last[i]:
        i += 1
    prefix = first[:i]
    rev = sorted(t[len(prefix):][::-1] for t in texts)
    lo, hi = rev[0], rev[-1]
    j = 0
    while j < len(lo) and lo[j] == hi[j]:
        j += 1
    return prefix, lo[:j][::-1]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value)


# --- output helpers ------------------------------------------------------------------------

_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}
_JS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def js_literal(value: Any) -> str:
    """JSON that is safe inside ``<script>`` and in a ``.js`` file: ``</script>``,
    ``<!--`` and U+2028/U+2029 cannot occur in the output."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JS_ESCAPE_RE.sub(lambda m: _JS_ESCAPES[m.group(0)], text)


def leaderboard_dir() -> Path:
    """The ``leaderboard/`` folder (templates, static)."""
    return shipped_dir("leaderboard")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(leaderboard_dir() / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = fmt_pct
    return env


def _copy_static(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for item in sorted((leaderboard_dir() / "static").iterdir()):
        if item.is_file():
            shutil.copyfile(item, out / item.name)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # a lone surrogate in model output cannot be UTF-8: it is shown as "?"
    tmp.write_text(text, encoding="utf-8", errors="replace")
    tmp.replace(path)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-")[:120]
    return slug or "run"


def _unique(slug: str, used: set[str]) -> str:
    candidate, i = slug, 2
    while candidate.lower() in used:
        candidate, i = f"{slug}-{i}", i + 1
    used.add(candidate.lower())
    return candidate


def _is_http(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


