"""The built leaderboard in a real browser: Debian's chromium driven by playwright.

Opens the site from file://, sorts, filters, toggles the grader, opens run pages, pages
through samples, checks that injected payloads never ran, and times an 18,408-sample run page.
Skips (with the reason) where playwright or a chromium binary cannot be found; install them
with `pip install playwright` and `apt-get install -y chromium` (not `playwright install`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from leaderboard_fixtures import (
    FULL_SIZE,
    KATEX_PAYLOAD,
    MATH_TEXT,
    PAYLOAD,
    ROUNDING,
    full_run_tasks,
    make_run,
)

from mwpbench.leaderboard import render_site
from mwpbench.leaderboard.numbers import fmt

pytestmark = pytest.mark.slow

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MAX_TEXT = 20_000  # the site cuts texts here in these tests (200,000 by default)


def _chromium() -> str | None:
    for candidate in (os.environ.get("MWPBENCH_CHROMIUM"), "chromium", "chromium-browser",
                      "/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("lb") / "results"
    make_run(results, "20261121-qwen", model="Qwen/Qwen2.5-Math-7B", skill=0.8, seed=1)
    make_run(results, "20261121-llama", model="meta/Llama-3-8B", skill=0.4, seed=2)
    make_run(results, "20261121-broken", model="mistral/Mistral-7B", skill=0.6, seed=3,
             status="incomplete")
    make_run(results, "20261120-paper", model="MathScale/Mistral-7B", skill=0.5, seed=4,
             limit=2000, official_mode=True)
    make_run(results, "20261119-native", model="Qwen/Qwen2.5-Math-7B", seed=5, source="native",
             tasks={"gsm8k": 8, "math": 8})
    make_run(results, "20261121-evil", model="evil/model", payload=PAYLOAD, seed=6,
             tasks={"gsm8k": 30, "math": 30})
    make_run(results, "20261121-full", model="big/model-70b", tasks=full_run_tasks(),
             long_text=True, seed=7)
    make_run(results, "20261121-katex", model="evil/katex",
             payload=KATEX_PAYLOAD, seed=8, tasks={"math": 5, "gsm8k": 2}, long_text=True)
    long = make_run(results, "20261121-long", model="/scratch/ckpts/qwen-sft/checkpoint-500",
                    seed=9, tasks={"gsm8k": 3})
    lines = [json.loads(x) for x in (long / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    lines[0]["completion"] = MATH_TEXT * 200 + " The answer is 3."  # ~50,000 characters
    (long / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return render_site(results, results.parent / "site", max_text=MAX_TEXT)[0].parent


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install playwright")
    executable = _chromium()
    if executable is None:
        pytest.skip("no chromium binary found: apt-get install -y chromium "
                    "(or set MWPBENCH_CHROMIUM to a Chromium/Chrome executable)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("dialog", lambda d: (pg.errors.append("dialog " + d.message), d.dismiss()))
    yield pg
    context.close()


def _not_pwned(pg, title: str) -> None:
    """No payload ran: each one would set window.__pwned and/or the title to 'PWNED'."""
    assert pg.evaluate("window.__pwned") is None
    assert pg.title() == title != "PWNED"
    assert pg.locator("a[href^='javascript']").count() == 0
    assert pg.errors == []


def _column_values(pg, section: int, col: int, attr: str = "data-s") -> list[float | None]:
    return pg.evaluate(
        """([s, c, a]) => Array.from(document.querySelectorAll('tbody.rows')[s].rows)
             .filter(r => !r.hidden).map(r => { const v = r.cells[c].getAttribute(a);
                                                 return v === '' ? null : parseFloat(v); })""",
        [section, col, attr])


def _shot(target, tmp_path: Path, name: str, **kw) -> None:
    """A screenshot of a page or an element under the test's tmp dir (and in the folder
    MWPBENCH_SCREENSHOTS names, e.g. bench/out/, when set)."""
    target.screenshot(path=str(tmp_path / name), **kw)
    extra = os.environ.get("MWPBENCH_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(Path(extra) / name), **kw)


def test_index_sort_filter_toggle(site: Path, page, tmp_path: Path):
    page.goto((site / "index.html").as_uri())
    page.check("#show-incomplete")
    headers = page.locator("#board thead th")
    labels = [h.strip() for h in headers.all_inner_texts()]
    macro = next(i for i, t in enumerate(labels) if t.startswith("Macro"))

    headers.nth(macro).click()  # numbers sort descending first, missing values last
    values = _column_values(page, 0, macro)
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True) and len(present) >= 3
    assert values[len(present):] == [None] * (len(values) - len(present))
    assert headers.nth(macro).get_attribute("aria-sort") == "descending"
    headers.nth(macro).click()
    present = [v for v in _column_values(page, 0, macro) if v is not None]
    assert present == sorted(present)

    headers.nth(0).click()  # model names, A to Z
    names = page.evaluate("Array.from(document.querySelectorAll('tbody.rows')[0].rows)"
                          ".map(r => r.cells[0].getAttribute('data-k'))")
    assert names == sorted(names)

    # the paper-protocol section: official view sorts reported rows with the run
    paper = page.evaluate("Array.from(document.querySelectorAll('tbody.rows'))"
                          ".findIndex(b => b.querySelector('.row-reported'))")
    assert paper >= 0
    page.click("button[data-view=official]")
    assert page.locator("#board.view-official").count() == 1
    headers.nth(macro).click()
    official = _column_values(page, paper, macro, "data-o")
    assert len(official) == 19 and official == sorted(official, reverse=True)
    gpt4 = page.locator("tr.row-reported", has_text="GPT-4 (gpt-4-0314)")
    assert "54.2" in gpt4.inner_text() and "reported" in gpt4.inner_text()
    assert page.locator("tr.row-reported td.best-o").count() >= 1

    page.fill("#filter", "qwen2.5")
    visible = page.locator("tbody.rows tr:visible")
    assert visible.count() == 2  # release and native Qwen rows, in two sections
    assert all("Qwen" in t for t in visible.all_inner_texts())
    assert page.locator("tbody.section-head:visible").count() == 2
    page.fill("#filter", "no such model anywhere")
    assert page.locator("tbody.nomatch").is_visible()
    page.fill("#filter", "reported gpt")
    assert page.locator("tbody.rows tr:visible").count() == 2
    page.fill("#filter", "")

    assert not page.locator("thead th[data-parent=math]").first.is_visible()
    page.click("button[data-expand=math]")
    assert page.locator("thead th[data-parent=math]").first.is_visible()
    assert page.locator("tr.incomplete").count() == 1
    _shot(page, tmp_path, "leaderboard-index-sorted.png", full_page=True)
    _not_pwned(page, "MwpBench leaderboard")


def test_index_fits_1400_pixels(site: Path, browser, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site / "index.html").as_uri())
    wrap = page.locator(".table-wrap")
    fits = page.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                         " return [w.scrollWidth, w.clientWidth]; })()")
    assert fits[0] <= fits[1], f"the table needs {fits[0]} px in {fits[1]} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    # metadata sits in the model cell; its columns come with "details columns"
    assert not page.locator("th.col-detail").first.is_visible()
    qwen = page.locator("tr.row-run", has_text="20261121-qwen").locator("th.col-model")
    assert "vllm · alpaca" in qwen.inner_text()
    page.check("#show-details")
    assert page.locator("thead th.col-detail", has_text="Backend").is_visible()
    page.uncheck("#show-details")
    # a local path shows its last two parts, the whole path on hover
    local = page.locator("tr.row-run", has_text="20261121-long").locator(".mname a")
    assert local.inner_text() == "qwen-sft/checkpoint-500"
    assert local.locator("xpath=..").get_attribute("title") == "/scratch/ckpts/qwen-sft/checkpoint-500"
    # incomplete runs are hidden until asked for
    assert page.locator("tr.incomplete").count() == 1
    assert not page.locator("tr.incomplete").is_visible()
    assert "incomplete runs (1)" in page.inner_text(".toolbar")
    page.check("#show-incomplete")
    assert page.locator("tr.incomplete").is_visible()
    page.uncheck("#show-incomplete")
    # sections fold
    first = page.locator("button.fold").first
    section = first.get_attribute("data-fold")
    rows = page.locator(f'tbody.rows[data-section="{section}"] tr:not(.incomplete)')
    assert rows.first.is_visible()
    first.click()
    assert first.get_attribute("aria-expanded") == "false" and not rows.first.is_visible()
    first.click()
    assert rows.first.is_visible()
    # the model column stays put when the table scrolls sideways (MATH's subjects opened)
    page.click("button[data-expand=math]")
    page.click("button[data-expand=college_math]")
    assert page.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                         " return w.scrollWidth > w.clientWidth; })()")
    cell = page.locator("tbody.rows tr:visible th.col-model").first
    before = cell.bounding_box()["x"]
    wrap.evaluate("w => { w.scrollLeft = 400; }")
    assert cell.bounding_box()["x"] == pytest.approx(before, abs=1)
    assert cell.is_visible()
    wrap.evaluate("w => { w.scrollLeft = 0; }")
    page.click("button[data-expand=math]")
    page.click("button[data-expand=college_math]")
    _shot(page, tmp_path, "leaderboard-index-1400.png", full_page=True)
    assert errors == []
    context.close()


def test_index_chart_follows_the_table(site: Path, page, tmp_path: Path):
    page.goto((site / "index.html").as_uri())
    shown = page.evaluate("new Set(Array.from(document.querySelectorAll('tbody.rows tr'))"
                          ".filter(r => r.offsetParent !== null).map(r => r.dataset.key)).size")
    assert page.locator("#index-chart rect.bar-macro").count() == shown
    assert page.locator("#index-chart rect.bar-micro").count() == shown
    assert page.locator("#index-chart rect.bar-macro.rep").count() == 18  # the paper's rows
    labels = page.locator("#index-chart text.lbl").all_text_contents()
    assert any("GPT-4 (gpt-4-0314)" in t for t in labels)
    # best macro first, in the view's grader; reported rows always official
    data = page.evaluate("window.MWPB_INDEX.rows")
    order = page.evaluate("""Array.from(document.querySelectorAll('#index-chart rect.bar-macro'))
                             .map(r => r.querySelector('title').textContent)""")
    macros = [float(t.split()[-1]) for t in order if t.split()[-1] != "–"]
    assert macros == sorted(macros, reverse=True)
    gpt4 = next(v for v in data.values() if v["label"] == "GPT-4 (gpt-4-0314)")
    assert "macro 54.2" in order
    assert gpt4["official"] == [52.0, 54.2]
    page.check("#show-incomplete")
    assert page.locator("#index-chart rect.bar-macro").count() == shown + 1
    page.fill("#filter", "qwen2.5")
    assert page.locator("#index-chart rect.bar-macro").count() == 2
    assert "not like for like" in page.inner_text("#index-chart-note")
    page.fill("#filter", "")
    page.click("button[data-view=official]")
    assert "switch to Official" not in page.inner_text("#index-chart-note")
    _shot(page, tmp_path, "leaderboard-index-chart.png", full_page=True)
    _not_pwned(page, "MwpBench leaderboard")


def test_python_and_javascript_round_alike(site: Path, page):
    page.goto((site / "index.html").as_uri())
    values = [[v, d] for v, d, _ in ROUNDING]
    shown = page.evaluate("(vs) => vs.map(([v, d]) => MWPB_FMT.fixed(v, d))", values)
    assert shown == [fmt(v, d) for v, d, _ in ROUNDING] == [s for _, _, s in ROUNDING]
    # and the run page draws with the same numbers the table prints
    page.goto((site / "runs" / "20261121-qwen.html").as_uri())
    page.wait_for_selector("html[data-samples-ready='1']")
    table = page.locator("table.results tr.rk-avg", has_text="Micro").locator("td.strong").first
    bar = page.locator("#chart rect.bar-run title").nth(0).text_content()
    micro_row = page.evaluate("MWPB_PAGE.columns.findIndex(c => c.key === 'micro')")
    page.click("[data-grader=strict]")
    bar = page.locator("#chart rect.bar-run").nth(micro_row).locator("title").text_content()
    assert bar == table.inner_text()


def test_run_page_chart_filters_and_pages(site: Path, page, tmp_path: Path):
    page.goto((site / "index.html").as_uri())
    page.click("a[href='runs/20261121-qwen.html']")
    page.wait_for_selector("html[data-samples-ready='1']")
    assert page.locator("table.results").first.inner_text().count("MATH") >= 1
    # chart: this run against the default reported row, then against another run
    assert page.locator("#compare").input_value().startswith("reported-")
    assert page.locator("#compare optgroup[label=Reported] option").count() == 18
    assert page.locator("#chart rect.bar-run").count() == 12
    assert page.locator("#chart rect.bar-cmp").count() == 12
    assert "limit 2000" in page.inner_text("#compare-note")
    page.select_option("#compare", "20261121-llama")
    assert page.locator("#chart rect.bar-cmp").count() == 12
    assert page.inner_text("#compare-note") == ""
    page.select_option("#compare", "")
    assert page.locator("#chart rect.bar-cmp").count() == 0

    # MATH by level
    levels = page.locator("table.level-table[data-task=math] tbody tr")
    assert levels.count() == 5 and levels.first.inner_text().startswith("Level 1")

    assert "1–25 of 60" in page.inner_text("#p-info")
    first = page.locator("#samples > li.sample").first
    # the question comes first, under the card's head
    assert first.evaluate("li => li.children[1].className").startswith("s-text s-question")
    assert first.locator(".s-question").inner_text().startswith("Problem 0 of gsm8k")
    page.click("[data-page=next]")
    assert "26–50 of 60" in page.inner_text("#p-info")
    assert page.locator("#samples > li.sample").count() == 25
    page.select_option("#f-task", label="math (all)")
    assert page.locator("#samples .s-task").first.inner_text().startswith("MATH.")
    assert "Level " in page.locator("#samples .s-task").first.inner_text()
    assert "of 6" in page.inner_text("#p-info")
    page.select_option("#f-task", "")
    page.select_option("#f-verdict", "s0")
    assert all("strict ✗" in t for t in page.locator("#samples .s-head").all_inner_texts())
    page.select_option("#f-verdict", "")
    page.select_option("#f-agree", "d")
    cards = page.locator("#samples > li.sample")
    assert cards.count() >= 1 and cards.count() == page.locator("#samples > li.disagree").count()
    _shot(page, tmp_path, "leaderboard-run.png", full_page=True)
    _not_pwned(page, "Qwen/Qwen2.5-Math-7B · 20261121-qwen · MwpBench")


def test_math_is_typeset_and_raw_text_is_one_click_away(site: Path, page, tmp_path: Path):
    page.goto((site / "runs" / "20261121-full.html").as_uri())
    page.wait_for_selector("html[data-samples-ready='1']")
    card = page.locator("#samples > li.sample").first
    completion = card.locator(".s-completion .s-text")
    assert completion.locator(".katex").count() >= 15  # inline, display and the box
    assert completion.locator(".katex-display").count() == 1
    assert completion.locator(".katex .frac-line").count() >= 1 and completion.locator(".boxpad, .fbox").count() >= 1
    assert completion.locator(".katex-error").count() == 0
    # the fonts are the bundled ones, loaded from disk
    page.wait_for_function("document.fonts.status === 'loaded'")
    assert page.evaluate("document.fonts.check('12px KaTeX_Main')")
    raw_text = card.locator(".s-completion .s-text").inner_text()
    assert "$x = 2y$" not in raw_text
    _shot(card, tmp_path, "leaderboard-katex-typeset.png")
    page.click("[data-math=raw]")
    card = page.locator("#samples > li.sample").first
    assert card.locator(".katex").count() == 0
    text = card.locator(".s-completion .s-text").inner_text()
    assert "First, $x = 2y$, so $\\frac{x}{2} = y$" in text
    _shot(card, tmp_path, "leaderboard-katex-raw.png")
    page.reload()  # the choice is remembered
    page.wait_for_selector("html[data-samples-ready='1']")
    assert page.locator("[data-math=raw]").get_attribute("aria-pressed") == "true"
    assert page.locator("#samples .katex").count() == 0
    page.click("[data-math=typeset]")
    assert page.locator("#samples .katex").count() > 0
    assert page.evaluate("window.__pwned") is None


def test_a_cut_completion_links_to_all_of_it(site: Path, page):
    page.goto((site / "runs" / "20261121-long.html").as_uri())
    page.wait_for_selector("html[data-samples-ready='1']")
    card = page.locator("#samples > li.sample").first
    note = card.locator(".s-completion p.cut")
    assert f"first {MAX_TEXT:,} of" in note.inner_text()
    link = note.locator("a")
    href = link.get_attribute("href")
    assert href.endswith("/raw/0-c.txt")
    page.click("#samples > li.sample >> nth=0 >> .s-completion p.cut a")
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert body.startswith("First, $x = 2y$") and body.rstrip().endswith("The answer is 3.")


def test_payloads_never_run(site: Path, page, tmp_path: Path):
    page.goto((site / "index.html").as_uri())
    assert "<script>window.__pwned=1" in page.inner_text("#board")  # shown as text
    _not_pwned(page, "MwpBench leaderboard")
    page.goto((site / "runs" / "20261121-evil.html").as_uri())
    page.wait_for_selector("html[data-samples-ready='1']")
    title = page.title()
    assert title.startswith("evil/model<script>window.__pwned=1;document.title='PWNED'")
    for details in page.locator("#samples details").all():
        details.evaluate("d => d.open = true")
    first = page.locator("#samples > li.sample").first
    text = first.inner_text()
    assert "<img src=x onerror=" in text and "</textarea>" in text and "javascript:" in text
    assert page.locator("#samples img, #samples script, #samples a").count() == 0
    assert page.locator("#samples svg:not(.katex svg)").count() == 0
    assert page.locator("h1 img, h1 script, dl img").count() == 0
    assert page.locator("#compare option").count() >= 19
    page.click("[data-page=last]")
    page.select_option("#f-verdict", "st:no_answer")
    page.fill("#f-q", "<script>")
    page.wait_for_timeout(100)
    _not_pwned(page, title)
    _shot(page, tmp_path, "leaderboard-evil-run.png")


def test_katex_payloads_stay_inert_and_bounded(site: Path, page, tmp_path: Path):
    page.goto((site / "runs" / "20261121-katex.html").as_uri())
    page.wait_for_selector("html[data-samples-ready='1']")
    for details in page.locator("#samples details").all():
        details.evaluate("d => d.open = true")
    lazy = page.locator("#samples .math-pending .katex").count()
    page.evaluate("MWPB.typesetAll()")  # cards far below are typeset when scrolled to
    assert page.locator("#samples .math-pending .katex").count() > lazy
    cards = page.locator("#samples > li.sample")
    assert cards.count() == 7
    assert page.locator("#samples .katex").count() > 20  # the rest of the math is typeset
    # no link, image, script, frame, id, class or style made from the text
    assert page.locator("#samples a, #samples img, #samples script, #samples iframe, "
                        "#samples object, #samples embed").count() == 0
    assert page.locator("#pwned, .pwned, [data-onclick]").count() == 0
    assert page.locator("#samples svg:not(.katex svg)").count() == 0
    handlers = page.evaluate("""Array.from(document.querySelectorAll('*:not(script)')).filter(e =>
        Array.from(e.attributes).some(a => a.name.startsWith('on'))).length""")
    assert handlers == 0
    styles = page.evaluate("""Array.from(document.querySelectorAll('#samples [style]'))
        .map(e => e.getAttribute('style')).filter(s => /url|javascript|expression/i.test(s))""")
    assert styles == []
    # \href and kin are shown as red source, not obeyed
    errors = page.locator("#samples .katex-error, #samples .katex [style*='color']").all_inner_texts()
    assert any("\\href" in t for t in errors) and any("\\htmlClass" in t for t in errors)
    # the size limits hold: nothing drawn larger than the card
    biggest = page.evaluate("""Math.max(...Array.from(document.querySelectorAll('#samples .katex'))
        .map(e => Math.max(e.getBoundingClientRect().width, e.getBoundingClientRect().height)))""")
    assert biggest < 1600
    plain = page.locator("#samples .math-plain").all()
    assert any("too long or too deeply nested" in (p.get_attribute("title") or "") for p in plain)
    page.click("[data-math=raw]")
    page.click("[data-math=typeset]")
    _not_pwned(page, page.title())
    assert page.title().startswith("evil/katex")
    _shot(page.locator("#samples > li.sample .s-completion").first, tmp_path,
          "leaderboard-katex-payloads.png")


def typeset_per_card(page) -> int:
    return page.locator("#samples > li.sample").first.locator(".katex").count()


def test_full_size_run_opens_fast(site: Path, browser, tmp_path: Path):
    """Prints how long the 18,408-sample run page and the index take to show (no timed
    assertion: bench/leaderboard_paint.py measures, this checks that it works)."""
    url = (site / "runs" / "20261121-full.html").as_uri()
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("html[data-samples-ready='1']")
    wall_ms = 1000 * (time.perf_counter() - started)
    ready_ms = page.evaluate("window.MWPB_READY_MS")
    typeset = page.locator("#samples .katex").count()
    page.evaluate("MWPB.typesetAll()")
    assert page.locator("#samples .katex").count() == 25 * typeset_per_card(page)
    started = time.perf_counter()
    index = context.new_page()
    index.goto((site / "index.html").as_uri())
    index.wait_for_selector("#index-chart svg")
    index_ms = 1000 * (time.perf_counter() - started)
    print(f"\n18,408-sample run page: first page of samples ({typeset} formulas typeset at once) after "
          f"{ready_ms:.0f} ms (navigation start), {wall_ms:.0f} ms wall; index with its chart "
          f"{index_ms:.0f} ms wall")
    assert typeset >= 3 * typeset_per_card(page)
    assert page.locator("#samples > li.sample").count() == 25
    assert f"of {FULL_SIZE:,}" in page.inner_text("#p-info")
    page.click("[data-page=last]")
    page.wait_for_function("document.querySelector('#p-info').textContent.startsWith('18,401')")
    page.fill("#p-num", "300")
    page.dispatch_event("#p-num", "change")
    page.wait_for_function("document.querySelector('#p-info').textContent.startsWith('7,476')")
    page.select_option("#f-agree", "s1o0")
    page.wait_for_selector("#samples > li.disagree")
    page.select_option("#f-agree", "")  # back to page 1 of everything
    assert page.locator("[data-page=first]").is_disabled()
    assert f"1–25 of {FULL_SIZE:,}" in page.inner_text("#p-info")
    _shot(page, tmp_path, "leaderboard-full-run.png", full_page=False)
    assert page.evaluate("window.__pwned") is None
    context.close()
