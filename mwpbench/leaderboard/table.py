"""The leaderboard's table: rows (runs and published rows), columns, comparable sections,
best cells. No HTML here (see site.py) and no reader of its own: runs come through
`mwpbench.results.load_run`.

Rows are grouped into sections: one per (source, item limit, task-version set). Two runs
share a section only when every task they both ran has the same version, so a column never
mixes versions, sources or item sets. Published rows join every section they are comparable
with (release file, official grader, paper cap): the ones shipped with mwpbench
(``mwpbench/leaderboard/reported/``: Table 5 of the MathScale paper) always, and any
``RESULTS_DIR/reported/*.json`` besides them (a file adds rows, it never replaces a shipped
one).

A run.json of the wrong shape (a string where the metrics should be, a list for the model)
is skipped and listed with the reason, never rendered half-way.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mwpbench import config
from mwpbench.datasets import list_tasks
from mwpbench.datasets.selection import PAPER_CAP
from mwpbench.errors import MwpbenchError
from mwpbench.leaderboard.numbers import rounded
from mwpbench.results import RUN_JSON, RunResult, load_run, slug
from mwpbench.types import GRADERS

logger = logging.getLogger(__name__)

REPORTED_DIR = "reported"


def packaged_reported_dir() -> Path:
    """The published rows shipped inside mwpbench (always on the leaderboard)."""
    return Path(str(resources.files("mwpbench.leaderboard") / REPORTED_DIR))


def dataset_labels() -> dict[str, tuple[str, str]]:
    """task -> (column header, display name) from the task YAMLs, in display order (the
    MwpBench suite's order, then the extras); tasks they do not know follow by name."""
    specs = config.load_tasks()
    return {name: (specs[name].short_label, specs[name].label) for name in list_tasks()}


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
    origin: str | None = None  # a reported row's table ("MathScale paper, Table 5 (arXiv v1)")
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    path: Path | None = None

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def display_model(self) -> str:
        return display_model(self.model)

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
    skipped: list[tuple[str, str]]  # (path, reason): not on the site
    citations: list[dict[str, Any]]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, what): shown anyway

    def arrange(self) -> None:
        """Columns, comparable sections and best cells from `runs` and `reported`."""
        self.columns = _columns(self.runs, self.reported)
        self.sections = _sections(self.runs, self.reported)
        for section in self.sections:
            _mark_section(section, self.columns)

    def drop_run(self, row: Row, reason: str) -> None:
        """Take a run off the board (its page could not be written) and list it as skipped."""
        self.runs = [r for r in self.runs if r is not row]
        self.skipped.append((f"{row.path.name}/" if row.path is not None else row.key, reason))
        self.arrange()


# --- reading -------------------------------------------------------------------------------


def collect(results_dir: str | Path) -> Leaderboard:
    """Read every run.json and reported file under `results_dir` into the table model."""
    results = Path(results_dir)
    runs, skipped = load_runs(results)
    reported, citations, bad = load_reported(results)
    board = Leaderboard([], [], runs, reported, skipped + bad, citations)
    board.arrange()
    return board


_OBJECTS = ("model", "prompt", "sampling", "graders", "timings", "counts", "packages")
_OPTIONAL_OBJECTS = ("shard", "metrics")
_TEXTS = ("run_id", "status", "created_at", "finished_at", "source", "suite")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")  # fmt: skip


def _expect_object(value: Any, where: str, *, optional: bool = False) -> Mapping[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is {_kind(value)}, expected an object")
    return value


def _check_block(block: Any, where: str) -> None:
    """An accuracy block: {"accuracy", "n", "stderr", ...} with numbers (or null)."""
    block = _expect_object(block, where, optional=True)
    for key in ("accuracy", "stderr", "n", "correct"):
        value = block.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{where}.{key} is {_kind(value)}, expected a number")


def check_run_shape(data: Mapping[str, Any]) -> None:
    """ValueError naming the first field of run.json whose type is not the documented one
    (docs/run-format.md); missing fields are fine (older writers)."""
    for key in _OBJECTS:
        _expect_object(data.get(key), f"run.json '{key}'", optional=True)
    for key in _OPTIONAL_OBJECTS:
        _expect_object(data.get(key), f"run.json '{key}'", optional=True)
    for key in _TEXTS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"run.json '{key}' is {_kind(value)}, expected a string")
    tasks = data.get("tasks")
    if tasks is not None and not isinstance(tasks, list):
        raise ValueError(f"run.json 'tasks' is {_kind(tasks)}, expected a list")
    for i, task in enumerate(tasks or []):
        _expect_object(task, f"run.json 'tasks'[{i}]")
    metrics = _expect_object(data.get("metrics"), "run.json 'metrics'", optional=True)
    for grader in GRADERS:
        block = _expect_object(metrics.get(grader), f"metrics.{grader}", optional=True)
        datasets = _expect_object(block.get("datasets"), f"metrics.{grader}.datasets", optional=True)
        for name, ds in datasets.items():
            _check_block(ds, f"metrics.{grader}.datasets.{name}")
            subsets = _expect_object((ds or {}).get("subsets"),
                                     f"metrics.{grader}.datasets.{name}.subsets", optional=True)
            for sub, sb in subsets.items():
                _check_block(sb, f"metrics.{grader}.datasets.{name}.subsets.{sub}")
        for avg in ("micro", "macro"):
            _check_block(block.get(avg), f"metrics.{grader}.{avg}")
    for key in ("disagreements", "truncation_rate", "status_counts"):
        _expect_object(metrics.get(key), f"metrics.{key}", optional=True)
    for task, counts in (metrics.get("status_counts") or {}).items():
        _expect_object(counts, f"metrics.status_counts.{task}", optional=True)


def load_runs(results_dir: Path) -> tuple[list[Row], list[tuple[str, str]]]:
    """Every ``run.json`` below `results_dir` (outside ``reported/``), as table rows."""
    rows: list[Row] = []
    skipped: list[tuple[str, str]] = []
    used: set[str] = set()
    for path in sorted(results_dir.rglob(RUN_JSON)):
        rel = path.relative_to(results_dir)
        if rel.parts[0] == REPORTED_DIR:
            continue
        try:
            row = run_row(load_run(path.parent))
        except MwpbenchError as exc:
            logger.warning("leaderboard: skipping %s: %s", path, exc)
            skipped.append((str(rel), str(exc)))
            continue
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a wrong shape
            logger.warning("leaderboard: skipping %s: %s", path, exc)
            skipped.append((str(rel), f"{type(exc).__name__}: {exc}"))
            continue
        row.key = _unique(_slug(row.run_id or path.parent.name), used)
        row.href = f"runs/{row.key}.html"
        rows.append(row)
    return rows, skipped


def run_row(result: RunResult) -> Row:
    """One run (docs/run-format.md, read by `results.load_run`) as a table row; ValueError
    when run.json has the wrong shape (see `check_run_shape`)."""
    data, path = result.run, result.path
    check_run_shape(data)
    model = data.get("model") or {}
    tasks = [t for t in data.get("tasks") or [] if isinstance(t, Mapping) and t.get("name")]
    versions = {str(t["name"]): str(t.get("version", "?")) for t in tasks}
    task_n = {str(t["name"]): t.get("n") for t in tasks}
    sources = {str(t.get("source")) for t in tasks if t.get("source")}
    source = str(data.get("source") or (sources.pop() if len(sources) == 1 else "mwpbench"))
    metrics = data.get("metrics") or {}
    graders = data.get("graders") or {}
    stored = tuple(graders.get("stored") or [g for g in GRADERS if g in metrics])
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
        run_id=result.run_id,
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


def reported_files(results_dir: Path) -> list[tuple[Path, str]]:
    """(path, label) of every published-rows file: the shipped ones first, then
    ``RESULTS_DIR/reported/*.json``."""
    files = [(p, f"mwpbench/leaderboard/{REPORTED_DIR}/{p.name}")
             for p in sorted(packaged_reported_dir().glob("*.json"))]
    folder = results_dir / REPORTED_DIR
    if folder.is_dir():
        files += [(p, f"{REPORTED_DIR}/{p.name}") for p in sorted(folder.glob("*.json"))]
    return files


def load_reported(results_dir: Path) -> tuple[list[Row], list[dict[str, Any]], list[tuple[str, str]]]:
    """Published rows: the shipped tables, plus every ``RESULTS_DIR/reported/*.json``.

    A file adds rows; one with the `id` of a table already read (a copy of the shipped
    Table 5, say) never replaces it: an identical copy is ignored, a different one listed.
    """
    rows: list[Row] = []
    citations: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, tuple[Any, str]] = {}  # table id -> (its rows, where it was read)
    for path, label in reported_files(results_dir):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            table_id = str(data.get("id") or path.stem) if isinstance(data, Mapping) else path.stem
            new = reported_rows(data, table_id)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("leaderboard: skipping %s: %s", path, exc)
            skipped.append((label, f"{type(exc).__name__}: {exc}"))
            continue
        if table_id in seen:
            if seen[table_id][0] == data["rows"]:
                logger.info("leaderboard: %s repeats %s; read once", label, seen[table_id][1])
            else:
                skipped.append((label, f"its id {table_id!r} is that of {seen[table_id][1]}, "
                                       "whose rows are kept; give the file another id to add "
                                       "its rows"))  # fmt: skip
            continue
        seen[table_id] = (data["rows"], label)
        rows += new
        citations.append({
            "id": table_id,
            "title": data.get("title") or path.stem,
            "citation": data.get("citation") or data.get("source") or "",
            "url": data.get("url") if _is_http(data.get("url")) else None,
            "protocol": data.get("protocol") or "",
            "notes": [str(n) for n in data.get("notes") or []],
            "rows": len(new),
            "file": label,
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
            origin=str(data.get("title") or name),
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
    labels = dataset_labels()
    order = [t for t in labels if t in tasks] + sorted(tasks - set(labels))
    columns: list[Column] = [  # the averages first: visible without scrolling sideways
        Column("micro", "Micro", "Micro average: accuracy over all items", "avg"),
        Column("macro", "Macro", "Macro average: mean of the dataset accuracies", "avg"),
    ]
    for task in order:
        short, long = labels.get(task, (task, task))
        subs = sorted(subsets.get(task, ()))
        columns.append(Column(task, short, long, "dataset", has_subsets=bool(subs)))
        for sub in subs:
            label = sub.split(".", 1)[-1].replace("_", " ")
            columns.append(Column(sub, label, f"{long}: {label}", "subset", parent=task))
    return columns


def datasets_then_averages(columns: list[Column]) -> list[Column]:
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
    for row in section.rows:  # marks of an earlier arrangement
        for key, cell in row.cells.items():
            cell.best_strict = cell.best_official = False
            if key in ("micro", "macro"):
                cell.note = None
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
        for grader in GRADERS:
            eligible = [
                r.cells[column.key] for r in section.rows
                if column.key in r.cells and not r.cells[column.key].note
                and ((r.kind == "run" and r.complete) or (r.kind == "reported" and grader == "official"))
            ]
            values = [rounded(v) for c in eligible if (v := getattr(c, grader)) is not None]
            if len(values) < 2:
                continue
            top = max(values)
            for c in eligible:
                v = getattr(c, grader)
                if v is not None and rounded(v) == top:  # as shown: one decimal
                    setattr(c, f"best_{grader}", True)


def _cell(strict: Mapping[str, Any], official: Mapping[str, Any]) -> Cell:
    n = strict.get("n") if isinstance(strict.get("n"), int) else official.get("n")
    return Cell(
        strict=pct(strict.get("accuracy")),
        official=pct(official.get("accuracy")),
        n=n if isinstance(n, int) else None,
        stderr_strict=pct(strict.get("stderr")),
        stderr_official=pct(official.get("stderr")),
    )


def pct(value: Any) -> float | None:
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


MAX_NAME = 120  # characters of a model name shown in a table cell or a heading
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_PATHLIKE = re.compile(r"[\w.+@=:-]+(?:/[\w.+@=:-]*){2,}")


def display_model(name: str) -> str:
    """The model's name as given, except a local path: its last two parts
    (``/scratch/ckpt/qwen-sft/step-500`` -> ``qwen-sft/step-500``). A path is absolute
    (``/``, ``~``, ``C:\\``), starts with ``./`` or ``../``, or is a relative path of three or
    more plain parts; a hub id (``org/name``, one slash) is a name. A name longer than
    `MAX_NAME` characters is cut."""
    text = name.strip()
    if len(text) > MAX_NAME:  # a name that long is shown cut; the title holds all of it
        return text[:MAX_NAME - 1] + "…"
    is_path = (text.startswith(("/", "~", "./", "../", "\\")) or bool(_DRIVE.match(text))
               or bool(_PATHLIKE.fullmatch(text)))
    if not is_path:
        return name
    parts = [p for p in re.split(r"[\\/]+", text) if p not in ("", ".")]
    return "/".join(parts[-2:]) or name


def _slug(text: str) -> str:
    return slug(text, 120)


def _unique(base: str, used: set[str]) -> str:
    candidate, i = base, 2
    while candidate.lower() in used:
        candidate, i = f"{base}-{i}", i + 1
    used.add(candidate.lower())
    return candidate


def _is_http(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))
