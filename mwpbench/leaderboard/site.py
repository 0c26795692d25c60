"""The leaderboard site: results/ -> index.html, one page per run, a sample browser.

The site works from ``file://`` and from any static host: no server, no network, no CDN.
Pages are rendered with Jinja2 (autoescape on); data read by JavaScript is written as
``<script src>`` files (``fetch`` is forbidden on ``file://``) through `js_literal`, which
escapes ``<``, ``>``, ``&`` and U+2028/U+2029 so nothing a model wrote can close a tag.
The table itself (rows, sections, best cells) is built by table.py.
"""

from __future__ import annotations

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
from mwpbench.errors import ConfigError, MwpbenchError
from mwpbench.leaderboard.table import Leaderboard, Row, collect, datasets_then_averages, pct
from mwpbench.metrics import STATUSES
from mwpbench.results import RUN_JSON, SAMPLES, scan_samples
from mwpbench.types import SampleRecord

logger = logging.getLogger(__name__)

SAMPLE_CHUNK = 250  # samples per text file of the sample browser


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
    if out.resolve() == results.resolve() or (runs_out.is_dir() and any(runs_out.rglob(RUN_JSON))):
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
    samples, bad_lines = _samples(row)
    chunks = write_samples(samples, out / row.key)
    table = _run_table(board, row, metrics)
    default = next((o["key"] for o in options if o["kind"] == "reported"), None)
    page_data = {
        "run": {"key": row.key, "label": row.model, "source": row.source, "limit": row.limit,
                "versions": row.versions},
        "columns": [{"key": c.key, "label": c.label, "title": c.title}
                    for c in datasets_then_averages(board.columns)
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

_STATUSES = STATUSES


def _samples(row: Row) -> tuple[list[SampleRecord], int]:
    """The run's sample lines and how many lines could not be read (shown on the page)."""
    if row.path is None:
        return [], 0
    try:
        samples, bad = scan_samples(row.path / SAMPLES)
    except MwpbenchError as exc:  # unreadable: the page says there are no samples
        logger.warning("leaderboard: %s", exc)
        return [], 0
    if bad:
        logger.warning("leaderboard: %s: %d malformed line(s) skipped", row.path / SAMPLES,
                       len(bad))  # fmt: skip
    return samples, len(bad)


def write_samples(samples: Sequence[Mapping[str, Any]], folder: Path) -> int:
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
