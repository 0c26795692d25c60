"""The leaderboard site: results/ -> index.html, one page per run, a sample browser.

The site works from ``file://`` and from any static host: no server, no network, no CDN
(KaTeX, which typesets the math of questions, answers and completions, ships in
``static/vendor/katex``). Pages are rendered with Jinja2 (autoescape on); data read by
JavaScript goes through `browser.js_literal`. The table itself (rows, sections, best cells)
is built by table.py, the sample browser's data files by browser.py; the site is written to
a folder it owns, built beside it and swapped in (folder.py).
"""

from __future__ import annotations

import errno
import json
import logging
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from mwpbench import __version__
from mwpbench.config import shipped_dir
from mwpbench.errors import ConfigError, MwpbenchError, RunError
from mwpbench.leaderboard import browser, folder
from mwpbench.leaderboard.browser import SAMPLE_CHUNK, js_literal, write_samples, write_text
from mwpbench.leaderboard.numbers import fmt
from mwpbench.leaderboard.table import Leaderboard, Row, collect, datasets_then_averages, pct
from mwpbench.metrics import GRADER_FIELDS, accuracy
from mwpbench.results import SAMPLES, scan_samples
from mwpbench.types import SampleRecord

logger = logging.getLogger(__name__)

__all__ = ["SAMPLE_CHUNK", "build_leaderboard", "default_out_dir", "fmt_pct", "js_literal",
           "leaderboard_dir", "level_breakdown", "render_site", "write_samples"]


# --- public entry ------------------------------------------------------------------------


def default_out_dir(results_dir: str | Path) -> Path:
    """``RESULTS_DIR/../leaderboard/site`` (``leaderboard/site/`` for ``results/``)."""
    return Path(results_dir).resolve().parent / "leaderboard" / "site"


def build_leaderboard(results_dir: str | Path = "results", out_dir: str | Path | None = None) -> Path:
    """Render every run under `results_dir` (and the published rows) into `out_dir`.

    Returns the path of the written ``index.html``. `out_dir` defaults to
    `default_out_dir(results_dir)`. The site is written only to a folder that does not exist,
    is empty, or holds a site written before (its ``.mwpbench-site`` marker); anything else
    raises ConfigError and is left untouched.
    """
    return render_site(results_dir, out_dir)[0]


def render_site(results_dir: str | Path, out_dir: str | Path | None = None, *,
                max_text: int = browser.MAX_TEXT) -> tuple[Path, Leaderboard]:
    """`build_leaderboard`, also returning the table model (runs, reported rows, skipped
    runs and problems). Texts longer than `max_text` characters are cut on the page."""
    results = Path(results_dir)
    if not results.is_dir():
        raise ConfigError(f"results directory {results} does not exist; run `mwpbench eval` "
                          "first or pass the folder that holds your run directories")
    out = (Path(out_dir) if out_dir is not None else default_out_dir(results)).resolve()
    folder.check_target(out, results)
    board = collect(results)
    try:
        with folder.staging(out) as stage:
            _write_site(board, stage, max_text)
    except OSError as exc:
        hint = ("the disk is full: free some space and build again" if exc.errno == errno.ENOSPC
                else "check that the folder is writable and build again")
        raise RunError(f"cannot write the site beside {out} ({exc.strerror or exc}): {hint}; "
                       "the site there before is unchanged") from exc
    logger.info("leaderboard: %d run(s), %d reported row(s) -> %s",
                len(board.runs), len(board.reported), out / "index.html")
    return out / "index.html", board


def _write_site(board: Leaderboard, stage: Path, max_text: int) -> None:
    env = _environment()
    _copy_static(stage / "static")
    runs_out = stage / "runs"
    runs_out.mkdir()
    options = _compare_options(board)
    for row in list(board.runs):
        try:
            _write_run(env, board, row, options, runs_out, max_text)
        except (ValueError, TypeError, KeyError, AttributeError, jinja2.TemplateError) as exc:
            logger.warning("leaderboard: skipping %s: %s", row.path, exc)  # a shape we missed
            board.drop_run(row, f"its page could not be written: {type(exc).__name__}: {exc}")
            (runs_out / f"{row.key}.html").unlink(missing_ok=True)
            shutil.rmtree(runs_out / row.key, ignore_errors=True)
    html = env.get_template("index.html.jinja").render(
        board=board, columns=board.columns, version=__version__, fmt=fmt_pct, fmt_se=fmt_se,
        root="", chart_data=Markup(js_literal(_chart_data(board))),
        hidden=sum(1 for r in board.runs if not r.complete),
    )
    write_text(stage / "index.html", html)


def fmt_pct(value: float | None) -> str:
    """One decimal (numbers.fmt: the rule static/fmt.js shares), no % sign (the header says
    %); an en dash for no value."""
    return fmt(value, 1)


def fmt_se(value: float | None) -> str:
    return "" if value is None else f"± {fmt(value, 1)}"


# --- the index --------------------------------------------------------------------------------


def _chart_data(board: Leaderboard) -> dict[str, Any]:
    """What the index chart draws: micro and macro of every row, by row key."""
    rows: dict[str, Any] = {}
    for n, section in enumerate(board.sections, 1):
        for row in section.rows:
            if row.key in rows:  # a reported row copied into several sections
                continue
            rows[row.key] = {
                "label": row.display_model + (f" · {row.run_id}" if row.run_id else ""),
                "kind": row.kind, "section": n, "complete": row.complete,
                "strict": [row.cells[a].strict if a in row.cells else None for a in ("micro", "macro")],
                "official": [row.cells[a].official if a in row.cells else None for a in ("micro", "macro")],
            }  # fmt: skip
    return {"rows": rows, "sections": len(board.sections)}


# --- the run pages --------------------------------------------------------------------------


def _compare_options(board: Leaderboard) -> list[dict[str, Any]]:
    """Rows a run page can chart itself against: every reported row and every run."""
    dataset_keys = [c.key for c in board.columns if c.kind in ("dataset", "avg")]
    options = []
    for row in [*board.reported, *board.runs]:
        options.append({
            "key": row.key,
            "kind": row.kind,
            "label": row.display_model + ("" if row.kind == "reported" else f" · {row.run_id}"),
            "source": row.source,
            "limit": row.limit,
            "versions": row.versions,
            "strict": {k: row.cells[k].strict for k in dataset_keys if k in row.cells},
            "official": {k: row.cells[k].official for k in dataset_keys if k in row.cells},
        })
    return options


def _write_run(env: jinja2.Environment, board: Leaderboard, row: Row,
               options: list[dict[str, Any]], out: Path, max_text: int) -> None:
    data = row.raw
    metrics = data.get("metrics") or {}
    samples, bad_lines, unreadable = _samples(row, board)
    chunks = write_samples(samples, out / row.key, max_text=max_text)
    table = _run_table(board, row, metrics)
    default = next((o["key"] for o in options if o["kind"] == "reported"), None)
    page_data = {
        "run": {"key": row.key, "label": row.display_model, "source": row.source,
                "limit": row.limit, "versions": row.versions},
        "columns": [{"key": c.key, "label": c.label, "title": c.title}
                    for c in datasets_then_averages(board.columns)
                    if c.kind in ("dataset", "avg") and c.key in row.cells],
        "options": options,
        "default_compare": default,
        "samples": {"meta": f"{row.key}/samples.js", "base": f"{row.key}/",
                    "chunk": SAMPLE_CHUNK, "chunks": chunks, "count": len(samples)},
    }
    html = env.get_template("run.html.jinja").render(
        row=row, data=data, table=table, bad_lines=bad_lines, unreadable=unreadable,
        n_samples=len(samples), page_data=Markup(js_literal(page_data)), fmt=fmt_pct,
        fmt_se=fmt_se, version=__version__, options=options, default_compare=default,
        root="../", meta=_run_meta(data), disagreements=metrics.get("disagreements") or {},
        levels=level_breakdown(samples), labels={c.key: c.title for c in board.columns},
    )
    write_text(out / f"{row.key}.html", html)


def _run_table(board: Leaderboard, row: Row, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the per-run results table: datasets, their subsets, micro, macro."""
    trunc = metrics.get("truncation_rate") or {}
    disagree = metrics.get("disagreements") or {}
    statuses = metrics.get("status_counts") or {}
    lines = []
    for column in datasets_then_averages(board.columns):
        cell = row.cells.get(column.key)
        if cell is None:
            continue
        line = {"key": column.key, "label": column.title if column.kind != "subset" else column.label,
                "kind": column.kind, "cell": cell, "version": row.versions.get(column.key),
                "disagree": disagree.get(column.key), "truncated": pct(trunc.get(column.key)),
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


def _samples(row: Row, board: Leaderboard) -> tuple[list[SampleRecord], int, str | None]:
    """The run's sample lines, how many lines could not be read, and why none could be
    read at all (an unreadable samples.jsonl: listed on the index, said on the page)."""
    if row.path is None:
        return [], 0, None
    try:
        samples, bad = scan_samples(row.path / SAMPLES)
    except MwpbenchError as exc:
        logger.warning("leaderboard: %s", exc)
        board.problems.append((f"{row.path.name}/{SAMPLES}", f"{exc}; the run is shown without its samples"))
        return [], 0, str(exc)
    if bad:
        logger.warning("leaderboard: %s: %d malformed line(s) skipped", row.path / SAMPLES,
                       len(bad))  # fmt: skip
        first = ", ".join(f"line {b.number} ({b.reason})" for b in bad[:3])
        board.problems.append((f"{row.path.name}/{SAMPLES}",
                               f"{len(bad)} malformed line(s) not shown: {first}"))
    return samples, len(bad), None


def level_breakdown(samples: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Accuracy per difficulty level, for each task whose samples carry two or more levels
    (MATH's Level 1–5): [{"task", "levels": [{"level", "n", "strict", "official"}]}].
    An item scores the fraction of its samples that are correct (as in metrics)."""
    items: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for s in samples:
        if isinstance(s.get("level"), str) and isinstance(s.get("task"), str):
            items.setdefault((s["task"], str(s.get("id"))), []).append(s)
    by_task: dict[str, dict[str, list[list[Mapping[str, Any]]]]] = {}
    for (task, _), group in items.items():
        by_task.setdefault(task, {}).setdefault(str(group[0]["level"]), []).append(group)
    out = []
    for task, levels in by_task.items():
        if len(levels) < 2:
            continue
        lines = []
        for level in sorted(levels, key=_natural):
            groups = levels[level]
            line: dict[str, Any] = {"level": level, "n": len(groups)}
            for grader, fieldname in GRADER_FIELDS.items():
                scored = [g for g in groups if any(r.get(fieldname) is not None for r in g)]
                scores = [sum(1 for r in g if r.get(fieldname) is True) / len(g) for g in scored]
                line[grader] = pct(accuracy(scores)["accuracy"])
            lines.append(line)
        out.append({"task": task, "levels": lines})
    return out


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


# --- output helpers ------------------------------------------------------------------------


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
    env.filters["clip"] = clip
    return env


def clip(value: Any, limit: int = 60) -> str:
    """Text for a small place (a table cell's second line): cut at `limit` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _copy_static(out: Path) -> None:
    """static/ with its vendor/ tree (KaTeX: script, stylesheet, fonts, license)."""
    shutil.copytree(leaderboard_dir() / "static", out,
                    ignore=shutil.ignore_patterns("__pycache__", "*.map", ".*"))
