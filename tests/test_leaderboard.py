"""The leaderboard's table model and the files it writes (no browser: see *_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from leaderboard_fixtures import PAYLOAD, PAYLOADS, TASKS, copy_reported, make_run

import mwpbench
from mwpbench.cli import cli
from mwpbench.errors import ConfigError
from mwpbench.leaderboard import build_leaderboard, collect, default_out_dir
from mwpbench.leaderboard.site import SAMPLE_CHUNK, js_literal, leaderboard_dir, write_samples
from mwpbench.leaderboard.table import version_summary

REPO = Path(__file__).resolve().parents[1]
REPORTED = REPO / "results" / "reported" / "mathscale_table5.json"
SHARED = REPO.parent / "shared" / "reported" / "mathscale_table5.json"
TEN = list(TASKS)


def _js_payload(path: Path) -> object:
    """The JSON argument of a `MWPB.xxx(...)` data file."""
    text = path.read_text(encoding="utf-8")
    start = text.index("(") + 1
    if text.startswith("MWPB.textLoaded"):
        start = text.index(",") + 1
    return json.loads(text[start:text.rindex(")")])


# --- reported rows --------------------------------------------------------------------------


def test_reported_file_keeps_table5_with_its_citation():
    data = json.loads(REPORTED.read_text(encoding="utf-8"))
    assert len(data["rows"]) == 18
    assert "arXiv:2403.02884v1" in data["citation"] and "Table 5" in data["citation"]
    assert "official" in data["protocol"] and "2000" in data["protocol"]
    assert data["source"] == "mwpbench" and data["grader"] == "official"
    assert data["datasets"] == TEN
    mathscale = next(r for r in data["rows"] if r["model"] == "MathScale Mistral (Mistral 7B)")
    assert (mathscale["gsm8k"], mathscale["math"], mathscale["micro"], mathscale["macro"]) == (
        74.8, 35.2, 38.7, 40.8)
    if SHARED.exists():  # the numbers are the published ones, unchanged
        assert data["rows"] == json.loads(SHARED.read_text(encoding="utf-8"))["rows"]


def test_reported_rows_are_official_release_rows(tmp_path):
    copy_reported(tmp_path)
    board = collect(tmp_path)
    assert len(board.reported) == 18 and board.runs == []
    gpt4 = next(r for r in board.reported if r.model.startswith("GPT-4"))
    assert gpt4.kind == "reported" and gpt4.backend == "reported"
    assert gpt4.source == "mwpbench" and gpt4.limit == 2000 and gpt4.graders == ("official",)
    assert gpt4.cells["gsm8k"].official == 92.9 and gpt4.cells["gsm8k"].strict is None
    assert gpt4.cells["macro"].official == 54.2 and "closed" in gpt4.badges
    assert "arXiv:2403.02884v1" in (gpt4.citation or "")
    # alone they form one section; bold goes to the best official value per column
    [section] = board.sections
    assert len(section.rows) == 18 and section.versions == {}
    best = [r.model for r in section.rows if r.cells["gsm8k"].best_official]
    assert best == ["GPT-4 (gpt-4-0314)"]
    assert not any(r.cells["gsm8k"].best_strict for r in section.rows)


# --- run rows ---------------------------------------------------------------------------------


def test_run_row_fields_and_cells(tmp_path):
    make_run(tmp_path, "r1", model="org/m-7b", backend="openai", skill=0.7, seed=3)
    board = collect(tmp_path)
    [row] = board.runs
    assert (row.kind, row.model, row.backend, row.prompt, row.date, row.source) == (
        "run", "org/m-7b", "openai", "alpaca", "2026-11-21", "mwpbench")
    assert row.versions == dict.fromkeys(TEN, "1") and row.version_summary == "v1"
    assert row.graders == ("strict", "official") and row.complete and row.href == "runs/r1.html"
    run = json.loads((tmp_path / "r1" / "run.json").read_text())
    strict = run["metrics"]["strict"]
    assert row.cells["gsm8k"].strict == pytest.approx(100 * strict["datasets"]["gsm8k"]["accuracy"])
    assert row.cells["gsm8k"].n == 6
    assert row.cells["micro"].official == pytest.approx(
        100 * run["metrics"]["official"]["micro"]["accuracy"])
    assert row.cells["MATH.Algebra"].strict is not None
    assert row.subsets["math"][0].startswith("MATH.")
    keys = [c.key for c in board.columns]
    assert keys[:4] == ["micro", "macro", "gsm8k", "math"]  # averages first
    assert keys.index("MATH.Algebra") > keys.index("math")
    subset = next(c for c in board.columns if c.key == "MATH.Counting_&_Probability")
    assert (subset.kind, subset.parent, subset.label) == ("subset", "math", "Counting & Probability")


def test_sections_separate_versions_sources_and_item_sets(tmp_path):
    copy_reported(tmp_path)
    make_run(tmp_path, "a", seed=1)
    make_run(tmp_path, "b", seed=2, tasks={"gsm8k": 4, "math": 7})  # a subset of a's tasks
    make_run(tmp_path, "c", seed=3, versions={"gsm8k": "2"})  # another gsm8k version
    make_run(tmp_path, "d", seed=4, source="native", tasks={"gsm8k": 5})
    make_run(tmp_path, "e", seed=5, limit=2000, official_mode=True)  # paper protocol
    make_run(tmp_path, "f", seed=6, limit=3)
    board = collect(tmp_path)
    where = {}
    for section in board.sections:
        for row in section.rows:
            where.setdefault(row.run_id or row.model, []).append(section)
        # within a section a column has one version and one source
        for task in TEN:
            assert len({r.versions[task] for r in section.rows if task in r.versions}) <= 1
        assert len({r.source for r in section.rows}) == 1
        assert len({r.limit for r in section.rows}) == 1
    assert where["a"] == where["b"]
    assert where["c"] != where["a"] and where["c"][0].versions["gsm8k"] == "2"
    assert where["d"][0].source == "native" and where["d"] != where["a"]
    assert where["f"] != where["a"] and where["f"][0].limit == 3
    # reported rows sit only with the paper-protocol run (release file, first 2000 items)
    assert where["GPT-4 (gpt-4-0314)"] == where["e"]
    assert "paper protocol" in where["e"][0].title and "native" in where["d"][0].title
    assert "gsm8k v2" in where["c"][0].title


def test_incomplete_runs_and_partial_averages_are_marked_not_bold(tmp_path):
    make_run(tmp_path, "good", seed=1, skill=0.3)
    make_run(tmp_path, "broken", seed=2, skill=0.95, status="incomplete")
    make_run(tmp_path, "two", seed=3, skill=0.99, tasks={"gsm8k": 6, "math": 6})
    make_run(tmp_path, "short", seed=4, skill=0.2, expected_n={"gsm8k": 1319})
    board = collect(tmp_path)
    rows = {r.run_id: r for r in board.runs}
    assert "incomplete" in rows["broken"].badges and not rows["broken"].complete
    assert not any(c.best_strict or c.best_official for c in rows["broken"].cells.values())
    assert rows["two"].cells["macro"].note == "over 2 of 10 datasets"
    assert not rows["two"].cells["macro"].best_strict
    assert rows["good"].cells["macro"].note is None
    assert rows["short"].cells["gsm8k"].note == "partial: 6 of 1319 items"
    html = build_leaderboard(tmp_path, tmp_path / "site").read_text(encoding="utf-8")
    assert re.search(r'<tr class="row-run incomplete"', html)
    assert 'title="over 2 of 10 datasets">!</sup>' in html
    assert ">incomplete</span>" in html


def test_best_value_per_column_is_bold_per_grader(tmp_path):
    make_run(tmp_path, "low", seed=1, skill=0.1, tasks={"gsm8k": 40})
    make_run(tmp_path, "high", seed=1, skill=0.9, tasks={"gsm8k": 40})
    board = collect(tmp_path)
    rows = {r.run_id: r for r in board.runs}
    assert rows["high"].cells["gsm8k"].best_strict and not rows["low"].cells["gsm8k"].best_strict
    html = build_leaderboard(tmp_path, tmp_path / "site").read_text(encoding="utf-8")
    assert html.count(" best-s") >= 1
    first = html.index('href="runs/high.html"')
    assert first < html.index('href="runs/low.html"')  # default order: macro, best first


def test_version_summary():
    assert version_summary({"gsm8k": "1", "math": "1"}) == "v1"
    assert version_summary({"gsm8k": "2", "math": "1", "tal_scq": "1"}) == "gsm8k v2 · others v1"
    assert version_summary({}) == "—"


def test_unreadable_runs_are_listed_not_dropped_silently(tmp_path):
    make_run(tmp_path, "ok", seed=1)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "future").mkdir()
    (tmp_path / "future" / "run.json").write_text('{"schema_version": 2}', encoding="utf-8")
    board = collect(tmp_path)
    assert [r.run_id for r in board.runs] == ["ok"]
    assert sorted(p for p, _ in board.skipped) == ["bad/run.json", "future/run.json"]
    html = build_leaderboard(tmp_path, tmp_path / "site").read_text(encoding="utf-8")
    assert "bad/run.json" in html and "schema_version 2" in html


def test_incomplete_run_without_metrics_or_samples_still_renders(tmp_path):
    folder = tmp_path / "fresh"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({
        "schema_version": 1, "run_id": "fresh", "status": "incomplete",
        "model": {"name": "m", "backend": "vllm"}, "tasks": [{"name": "gsm8k", "version": "1"}],
        "metrics": None,
    }), encoding="utf-8")
    index = build_leaderboard(tmp_path, tmp_path / "site")
    [row] = collect(tmp_path).runs
    assert {"incomplete", "no metrics"} <= set(row.badges)
    page = (index.parent / "runs" / "fresh.html").read_text(encoding="utf-8")
    assert "no samples.jsonl" in page


# --- the files ------------------------------------------------------------------------------


def test_build_writes_a_self_contained_site(tmp_path):
    copy_reported(tmp_path)
    make_run(tmp_path, "run-1", seed=1)
    out = tmp_path / "site"
    index = mwpbench.build_leaderboard(tmp_path, out)
    assert index == out / "index.html"
    assert {p.name for p in (out / "static").iterdir()} >= {"style.css", "app.js", "run.js"}
    assert (out / "runs" / "run-1.html").is_file()
    assert (out / "runs" / "run-1" / "samples.js").is_file()
    assert (out / "runs" / "run-1" / "text-00000.js").is_file()
    for page in [index, out / "runs" / "run-1.html"]:
        html = page.read_text(encoding="utf-8")
        # nothing from the network: every src/href is relative (or the paper's citation link)
        for url in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert not url.startswith(("http:", "https:", "//")) or "arxiv.org" in url, url
        assert "fetch(" not in html
    assert "fetch(" not in (out / "static" / "run.js").read_text(encoding="utf-8")
    html = index.read_text(encoding="utf-8")
    assert html.count('class="row-reported"') == 18
    assert "arXiv:2403.02884v1" in html and "paper protocol" in html
    # rebuilding replaces the run pages (a removed run disappears)
    (tmp_path / "run-1" / "run.json").unlink()
    mwpbench.build_leaderboard(tmp_path, out)
    assert not (out / "runs" / "run-1.html").exists()


def test_default_out_dir_is_next_to_results(tmp_path):
    assert default_out_dir(tmp_path / "results") == (tmp_path / "leaderboard" / "site").resolve()
    make_run(tmp_path / "results", "x", seed=1, tasks={"gsm8k": 2})
    index = build_leaderboard(tmp_path / "results")
    assert index == (tmp_path / "leaderboard" / "site" / "index.html").resolve()


def test_missing_results_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        build_leaderboard(tmp_path / "nope", tmp_path / "site")


def test_site_never_overwrites_run_directories(tmp_path):
    make_run(tmp_path / "results", "runs", seed=1, tasks={"gsm8k": 2})
    with pytest.raises(ConfigError, match="refusing"):
        build_leaderboard(tmp_path / "results", tmp_path / "results")
    make_run(tmp_path / "other" / "runs", "x", seed=1, tasks={"gsm8k": 2})
    with pytest.raises(ConfigError, match="refusing"):
        build_leaderboard(tmp_path / "results", tmp_path / "other")  # other/runs is not ours
    assert (tmp_path / "results" / "runs" / "run.json").is_file()
    assert (tmp_path / "other" / "runs" / "x" / "run.json").is_file()


def test_templates_are_found():
    folder = leaderboard_dir()
    assert (folder / "templates" / "index.html.jinja").is_file()
    assert (folder / "static" / "style.css").is_file()


def test_samples_are_chunked_and_prompts_rebuilt(tmp_path):
    samples = [{"id": f"p{i}", "task": "gsm8k", "subset": "gsm8k", "sample_index": 0,
                "prompt": f"HEAD\nquestion {i}\nTAIL", "completion": f"c{i}", "gold": str(i),
                "extracted": str(i), "correct": True, "status": "correct",
                "official_correct": i % 2 == 0, "finish_reason": "stop"}
               for i in range(SAMPLE_CHUNK * 2 + 3)]
    chunks = write_samples(samples, tmp_path)
    assert chunks == 3
    index = _js_payload(tmp_path / "samples.js")
    assert index["prefix"] == "HEAD\nquestion " and index["suffix"] == "\nTAIL"
    assert len(index["rows"]) == len(samples)
    assert index["rows"][1][:7] == ["p1", 0, 0, 0, 0, 1, 0]
    last = _js_payload(tmp_path / "text-00002.js")
    assert len(last) == 3
    i = SAMPLE_CHUNK * 2 + 2
    assert index["prefix"] + last[2][0] + index["suffix"] == samples[i]["prompt"]
    assert last[2][1] == f"c{i}"


def test_malformed_sample_lines_are_counted_and_the_rest_shown(tmp_path):
    folder = make_run(tmp_path, "r", seed=1, tasks={"gsm8k": 3})
    path = folder / "samples.jsonl"
    good = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([good[0], '{"id": "b", "trunc', "[1]", *good[1:]]) + "\n",
                    encoding="utf-8")  # fmt: skip
    index = build_leaderboard(tmp_path, tmp_path / "site")
    page = (index.parent / "runs" / "r.html").read_text(encoding="utf-8")
    assert "2 malformed lines of samples.jsonl could not be read" in page
    assert len(_js_payload(index.parent / "runs" / "r" / "samples.js")["rows"]) == 3


# --- escaping ---------------------------------------------------------------------------------


def test_js_literal_cannot_close_a_script_tag():
    text = js_literal({"a": "</script><!-- & \u2028\u2029 >"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 >"}


def test_payload_in_every_field_is_escaped_everywhere(tmp_path):
    copy_reported(tmp_path)
    make_run(tmp_path, "evil", payload=PAYLOAD, seed=7, tasks={"gsm8k": 3, "math": 3})
    run_json = tmp_path / "evil" / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    data["run_id"] = "evil" + PAYLOAD
    data["created_at"] = PAYLOAD
    data["tasks"][0]["version"] = PAYLOAD
    run_json.write_text(json.dumps(data), encoding="utf-8")
    reported = tmp_path / "reported" / "mathscale_table5.json"
    rep = json.loads(reported.read_text(encoding="utf-8"))
    rep["rows"][0]["model"] = "GPT" + PAYLOAD
    rep["citation"] = rep["protocol"] = PAYLOAD
    rep["url"] = "javascript:window.__pwned=9"
    rep["notes"] = [PAYLOAD]
    reported.write_text(json.dumps(rep), encoding="utf-8")

    out = tmp_path / "site"
    build_leaderboard(tmp_path, out)
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".js")]
    files = [p for p in files if p.parent.name != "static"]
    assert len(files) >= 4
    raw = ["<script>window.__pwned", "<img", "<svg", "</textarea>", "<a href=\"javascript",
           "</pre>", "javascript:window.__pwned=9\""]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for needle in raw:
            assert needle not in text, (path.name, needle)
        assert text.count("<script") == text.count("</script>"), path.name
        # script text (inline or a .js file): no raw <, > or line separators at all
        scripts = (re.findall(r"<script>(.*?)</script>", text, re.S) if path.suffix == ".html"
                   else [text])
        for script in scripts:
            assert not set("<>\u2028\u2029") & set(script), path.name
    index = (out / "index.html").read_text(encoding="utf-8")
    page = next(p for p in (out / "runs").glob("*.html")).read_text(encoding="utf-8")
    escaped = "&lt;script&gt;window.__pwned=1"
    assert escaped in index and escaped in page  # shown, as text
    assert "&lt;img src=x onerror=" in page
    assert 'href="javascript:' not in index
    # the data files hold the payload intact: the browser shows it as text
    folder = next(p for p in (out / "runs").iterdir() if p.is_dir())
    meta = _js_payload(folder / "samples.js")
    assert meta["rows"][0][0].endswith(PAYLOAD)  # id
    assert all(p in meta["rows"][0][7] for p in PAYLOADS)  # extracted answer
    text = _js_payload(folder / "text-00000.js")
    assert PAYLOAD in text[0][1] and PAYLOAD in meta["prefix"] + text[0][0] + meta["suffix"]


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_leaderboard(tmp_path):
    copy_reported(tmp_path / "results")
    make_run(tmp_path / "results", "cli-run", seed=1, tasks={"gsm8k": 3})
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "results"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 run(s), 18 reported row(s)" in result.output
    assert str(out / "index.html") in result.output
    assert (out / "runs" / "cli-run.html").is_file()


def test_cli_leaderboard_missing_dir(tmp_path):
    from mwpbench.cli import main

    assert main(["leaderboard", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
