"""The leaderboard's table model and the files it writes (no browser: see *_browser.py)."""

from __future__ import annotations

import copy
import json
import re
from html import escape
from pathlib import Path

import pytest
from click.testing import CliRunner
from leaderboard_fixtures import PAYLOAD, PAYLOADS, ROUNDING, TASKS, make_run, write_reported

import mwpbench
from mwpbench.cli import cli
from mwpbench.errors import ConfigError
from mwpbench.leaderboard import build_leaderboard, collect, default_out_dir, render_site
from mwpbench.leaderboard.numbers import fmt
from mwpbench.leaderboard.site import (
    SAMPLE_CHUNK,
    js_literal,
    leaderboard_dir,
    level_breakdown,
    write_samples,
)
from mwpbench.leaderboard.table import packaged_reported_dir, version_summary

REPO = Path(__file__).resolve().parents[1]
REPORTED = packaged_reported_dir() / "mathscale_table5.json"
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


def test_table5_ships_inside_the_package():
    assert REPORTED.is_file()
    assert REPORTED.is_relative_to(Path(mwpbench.__file__).parent)


def test_reported_rows_are_official_release_rows(tmp_path):
    board = collect(tmp_path)  # an empty results folder: the shipped rows all the same
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
    # KaTeX is bundled: its script, its license, and every woff2 font its stylesheet names
    katex = out / "static" / "vendor" / "katex"
    assert (katex / "katex.min.js").is_file() and "MIT" in (katex / "LICENSE").read_text()
    fonts = re.findall(r"url\((fonts/[\w-]+\.woff2)\)", (katex / "katex.min.css").read_text())
    assert len(fonts) >= 20 and all((katex / f).is_file() for f in fonts)
    run_page = (out / "runs" / "run-1.html").read_text(encoding="utf-8")
    assert '<script src="../static/vendor/katex/katex.min.js">' in run_page
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
    question, middle, completion, cuts = last[2]
    assert index["prefix"] + middle + index["suffix"] == samples[i]["prompt"]
    assert (completion, cuts) == (f"c{i}", 0)
    # the question is the prompt's own line: rebuilt by the page, not stored twice
    assert question is None and (index["qhead"], index["qtail"]) == ("question ", "")
    assert index["qhead"] + middle + index["qtail"] == f"question {i}"


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
    make_run(tmp_path, "evil", payload=PAYLOAD, seed=7, tasks={"gsm8k": 3, "math": 3})
    run_json = tmp_path / "evil" / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    data["run_id"] = "evil" + PAYLOAD
    data["created_at"] = PAYLOAD
    data["tasks"][0]["version"] = PAYLOAD
    run_json.write_text(json.dumps(data), encoding="utf-8")
    write_reported(tmp_path, "evil" + PAYLOAD, [{"model": "GPT" + PAYLOAD, "gsm8k": 50.0}],
                   name="evil", citation=PAYLOAD, protocol=PAYLOAD,
                   url="javascript:window.__pwned=9", notes=[PAYLOAD])

    out = tmp_path / "site"
    build_leaderboard(tmp_path, out)
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".js")]
    files = [p for p in files if "static" not in p.relative_to(out).parts]
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
    assert PAYLOAD in text[0][2] and PAYLOAD in meta["prefix"] + text[0][1] + meta["suffix"]


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_leaderboard(tmp_path):
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


# --- published rows: shipped, and added to ------------------------------------------------------


def test_table5_is_on_every_board_and_every_compare_list(tmp_path):
    make_run(tmp_path, "mine", seed=1, tasks={"gsm8k": 3})  # no reported/ folder at all
    index, board = render_site(tmp_path, tmp_path / "site")
    assert len(board.reported) == 18
    html = index.read_text(encoding="utf-8")
    assert html.count('class="row-reported"') == 18
    assert "mwpbench/leaderboard/reported/mathscale_table5.json" in html
    page = (index.parent / "runs" / "mine.html").read_text(encoding="utf-8")
    assert page.count('<option value="reported-mathscale_table5_arxiv_v1-') == 18


def test_results_reported_adds_rows_and_never_replaces_table5(tmp_path):
    table5 = json.loads(REPORTED.read_text(encoding="utf-8"))
    write_reported(tmp_path, "my_baselines", [{"model": "my-7b", "gsm8k": 61.0, "math": 20.5},
                                              {"model": "my-13b", "gsm8k": 70.0}])
    # an old checkout's copy of Table 5 (same id, same rows): read once, not listed
    (tmp_path / "reported" / "mathscale_table5.json").write_text(json.dumps(table5), encoding="utf-8")
    # a copy with one number changed: it may not replace the published row
    changed = copy.deepcopy(table5)
    changed["rows"][0]["gsm8k"] = 99.9
    (tmp_path / "reported" / "table5_edited.json").write_text(json.dumps(changed), encoding="utf-8")
    board = collect(tmp_path)
    assert len(board.reported) == 20
    assert [r.model for r in board.reported[-2:]] == ["my-7b", "my-13b"]
    gpt4 = next(r for r in board.reported if r.model.startswith("GPT-4"))
    assert gpt4.cells["gsm8k"].official == 92.9
    assert [p for p, _ in board.skipped] == ["reported/table5_edited.json"]
    reason = dict(board.skipped)["reported/table5_edited.json"]
    assert "mathscale_table5_arxiv_v1" in reason and "another id" in reason
    assert len({r.key for r in board.reported}) == 20


# --- corrupt runs: skipped, listed, the rest built -------------------------------------------------


def _corrupt(folder: Path, how: str) -> None:
    run_json = folder / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    if how == "not utf-8":
        run_json.write_bytes(b'{"schema_version": 1, "model": "\xff\xfe"}')
        return
    if how == "a list":
        data = []
    elif how == "string metrics":
        data["metrics"] = "0.52"
    elif how == "string accuracy":
        data["metrics"]["strict"]["datasets"]["gsm8k"]["accuracy"] = "52%"
    elif how == "model as a list":
        data["model"] = ["m"]
    elif how == "tasks as an object":
        data["tasks"] = {"gsm8k": 1}
    elif how == "a task as a number":
        data["tasks"] = [1]
    elif how == "timings as a list":
        data["timings"] = [1, 2]
    elif how == "integer status":
        data["status"] = 3
    elif how == "subsets as a list":
        data["metrics"]["official"]["datasets"]["math"]["subsets"] = ["MATH.Algebra"]
    run_json.write_text(json.dumps(data), encoding="utf-8")


CORRUPTIONS = ["not utf-8", "a list", "string metrics", "string accuracy", "model as a list",
               "tasks as an object", "a task as a number", "timings as a list",
               "integer status", "subsets as a list"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_a_corrupt_run_is_skipped_listed_and_the_rest_built(tmp_path, how):
    make_run(tmp_path / "results", "good", seed=1, tasks={"gsm8k": 3, "math": 5})
    _corrupt(make_run(tmp_path / "results", "bad", seed=2, tasks={"gsm8k": 3, "math": 5}), how)
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "results"), "-o",
                                      str(tmp_path / "site")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "skipped bad/run.json" in result.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "bad/run.json" in html and 'href="runs/good.html"' in html
    assert not (tmp_path / "site" / "runs" / "bad.html").exists()
    assert (tmp_path / "site" / "runs" / "good.html").is_file()


def test_unreadable_samples_are_listed_and_the_run_shown(tmp_path):
    folder = make_run(tmp_path / "results", "nodir", seed=1, tasks={"gsm8k": 3})
    (folder / "samples.jsonl").unlink()
    (folder / "samples.jsonl").mkdir()  # a directory where the file should be
    bad = make_run(tmp_path / "results", "bytes", seed=2, tasks={"gsm8k": 3})
    with (bad / "samples.jsonl").open("ab") as fh:
        fh.write(b'{"key": "x", "completion": "\xff\xfe"}\n')
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "results"), "-o",
                                      str(tmp_path / "site")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "nodir/samples.jsonl" in result.stderr and "bytes/samples.jsonl" in result.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Shown with problems" in html and "nodir/samples.jsonl" in html
    assert "line 4 (not UTF-8 text)" in html
    page = (tmp_path / "site" / "runs" / "nodir.html").read_text(encoding="utf-8")
    assert "The samples could not be read" in page
    page = (tmp_path / "site" / "runs" / "bytes.html").read_text(encoding="utf-8")
    assert "1 malformed line of samples.jsonl" in page


def test_a_page_that_fails_to_render_drops_only_its_run(tmp_path, monkeypatch):
    make_run(tmp_path, "good", seed=1, tasks={"gsm8k": 3})
    make_run(tmp_path, "bad", seed=2, tasks={"gsm8k": 3})
    import mwpbench.leaderboard.site as site_module

    real = site_module._run_meta

    def meta(data):
        if data.get("run_id") == "bad":
            raise TypeError("a shape nobody foresaw")
        return real(data)

    monkeypatch.setattr(site_module, "_run_meta", meta)
    index, board = render_site(tmp_path, tmp_path / "site")
    assert [r.run_id for r in board.runs] == ["good"]
    assert any("a shape nobody foresaw" in reason for _, reason in board.skipped)
    assert not (index.parent / "runs" / "bad.html").exists()
    assert not (index.parent / "runs" / "bad").exists()
    assert 'href="runs/bad.html"' not in index.read_text(encoding="utf-8")


# --- a runaway completion ---------------------------------------------------------------------


def test_a_huge_completion_is_cut_with_a_link_to_all_of_it(tmp_path):
    folder = make_run(tmp_path, "long", seed=1, tasks={"gsm8k": 3})
    lines = [json.loads(x) for x in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    huge = "Let me think. " * 30_000 + "</pre><script>window.__pwned=1</script> The answer is 3."
    lines[1]["completion"] = huge
    lines[1]["extracted"] = "9" * 20_000
    (folder / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    index, _ = render_site(tmp_path, tmp_path / "site", max_text=50_000)
    data = index.parent / "runs" / "long"
    chunk = _js_payload(data / "text-00000.js")
    assert len(chunk[1][2]) == 50_000 and chunk[1][2] == huge[:50_000]
    assert chunk[1][3] == {"c": [len(huge), "raw/1-c.txt"]}
    assert (data / "raw" / "1-c.txt").read_text(encoding="utf-8") == huge
    assert chunk[0][3] == 0 and chunk[2][3] == 0
    row = _js_payload(data / "samples.js")["rows"][1]
    assert row[7].startswith("9" * 4000) and row[7].endswith("[cut: 20,000 characters]")


# --- levels -----------------------------------------------------------------------------------


def test_math_level_breakdown_on_the_run_page(tmp_path):
    folder = make_run(tmp_path, "lv", seed=5, tasks={"gsm8k": 4, "math": 20})
    samples = [json.loads(x) for x in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    [block] = level_breakdown(samples)  # gsm8k has one level: no breakdown
    assert block["task"] == "math"
    assert [line["level"] for line in block["levels"]] == [f"Level {k}" for k in range(1, 6)]
    for line in block["levels"]:
        mine = [s for s in samples if s["task"] == "math" and s["level"] == line["level"]]
        assert line["n"] == len(mine) == 4
        assert line["strict"] == pytest.approx(100 * sum(s["correct"] for s in mine) / 4)
        assert line["official"] == pytest.approx(100 * sum(s["official_correct"] for s in mine) / 4)
    page = (build_leaderboard(tmp_path, tmp_path / "site").parent / "runs" / "lv.html").read_text(
        encoding="utf-8")
    assert "By difficulty level" in page and page.count("<th scope=\"row\">Level ") == 5


def test_levels_with_several_samples_score_items_and_old_runs_have_none():
    lines = [{"task": "math", "id": "a", "level": "Level 2", "correct": c, "official_correct": c}
             for c in (True, False, False, False)]  # one item, four samples: 25 %
    lines += [{"task": "math", "id": "b", "level": "Level 10", "correct": True,
               "official_correct": None}]
    [block] = level_breakdown(lines)
    assert [(x["level"], x["n"], x["strict"]) for x in block["levels"]] == [
        ("Level 2", 1, 25.0), ("Level 10", 1, 100.0)]
    assert block["levels"][1]["official"] is None
    assert level_breakdown([{**x, "level": None} for x in lines]) == []


# --- numbers and names --------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "digits", "shown"), ROUNDING)
def test_one_rounding_rule(value, digits, shown):
    assert fmt(value, digits) == shown


def test_the_table_bolds_by_the_shown_value(tmp_path):
    """12.25 and 12.3 both show as 12.3: both bold (Python's round() would split them)."""
    make_run(tmp_path, "a", seed=1, tasks={"gsm8k": 8})
    make_run(tmp_path, "b", seed=2, tasks={"gsm8k": 8})
    board = collect(tmp_path)
    cells = [r.cells["gsm8k"] for r in board.runs]
    cells[0].strict, cells[1].strict = 12.25, 12.3
    board.arrange()
    assert all(c.best_strict for c in (r.cells["gsm8k"] for r in board.runs))


@pytest.mark.parametrize(("given", "shown"), [
    ("Qwen/Qwen2.5-Math-7B", "Qwen/Qwen2.5-Math-7B"), ("gpt-4o-mini", "gpt-4o-mini"),
    ("/scratch/u/ckpts/qwen-sft/checkpoint-500", "qwen-sft/checkpoint-500"),
    ("./outputs/run3/", "outputs/run3"), ("C:\\models\\llama\\step-9", "llama/step-9"),
    ("ckpts/run1/step500", "run1/step500"), ("my model / v2 / final", "my model / v2 / final"),
])
def test_model_names_are_shown_as_given_but_paths_by_their_last_two_parts(tmp_path, given, shown):
    make_run(tmp_path, "m", model=given, seed=1, tasks={"gsm8k": 2})
    [row] = collect(tmp_path).runs
    assert (row.model, row.display_model) == (given, shown)
    html = build_leaderboard(tmp_path, tmp_path / "site").read_text(encoding="utf-8")
    assert f">{escape(shown)}</a>" in html and f'title="{escape(given)}"' in html
