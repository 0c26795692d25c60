"""How fast the leaderboard shows in a real browser, with and without KaTeX typesetting.

    python bench/leaderboard_paint.py [--repeat 5] [--runs 20] [--keep DIR]

Builds a site from synthetic runs (tests/leaderboard_fixtures.py: an 18,408-sample run whose
completions hold MATH-style inline and display math, plus `--runs` small runs and the
shipped Table 5 rows), then opens it from file:// in Debian's chromium (playwright) and
prints, per page, the median over `--repeat` fresh page loads of: first contentful paint,
and the moment the page's own content is ready (the first 25 sample cards on a run page,
`MWPB_READY_MS`; the table and its chart on the index, `MWPB_INDEX_READY_MS`), both from
navigation start. The peer in the same run is the same run page with math shown as raw
text (the `Raw text` toggle): the ratio is what typesetting costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from leaderboard_fixtures import full_run_tasks, make_run  # noqa: E402

from mwpbench.leaderboard import render_site  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]  # fmt: skip


def build(root: Path, runs: int) -> Path:
    results = root / "results"
    make_run(results, "full", model="big/model-70b", tasks=full_run_tasks(), long_text=True, seed=7)
    for i in range(runs):
        make_run(results, f"run-{i:02d}", model=f"org/model-{i}", seed=i, skill=0.2 + i / (2 * runs))
    return render_site(results, root / "site")[0].parent


def measure(browser, url: str, ready: str, raw: bool) -> tuple[float, float, int]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if raw:
        context.add_init_script("try { localStorage.setItem('mwpb-math', 'raw'); } catch (e) {}")
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(f"window.{ready} !== undefined")
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    ready_ms = page.evaluate(f"window.{ready}")
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    formulas = page.evaluate("document.querySelectorAll('#samples .katex').length")
    context.close()
    return fcp, ready_ms, formulas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="build the site here and keep it")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("MWPBENCH_CHROMIUM") or shutil.which("chromium")
    if not executable:
        sys.exit("no chromium: apt-get install -y chromium (or set MWPBENCH_CHROMIUM)")
    root = args.keep or Path(tempfile.mkdtemp(prefix="mwpb-paint-"))
    site = build(root, args.runs)
    pages = [
        ("run page, 18,408 samples", (site / "runs" / "full.html").as_uri(), "MWPB_READY_MS", False),
        ("run page, 18,408 samples", (site / "runs" / "full.html").as_uri(), "MWPB_READY_MS", True),
        (f"index, {args.runs + 1} runs + 18 reported", (site / "index.html").as_uri(),
         "MWPB_INDEX_READY_MS", False),
    ]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        measure(browser, pages[0][1], pages[0][2], False)  # warm the disk cache
        for label, url, ready, raw in pages:
            got = [measure(browser, url, ready, raw) for _ in range(args.repeat)]
            rows.append((label, "raw text" if raw else "typeset", statistics.median(g[0] for g in got),
                         statistics.median(g[1] for g in got), got[0][2]))
        browser.close()
    raw_ready = next(r[3] for r in rows if r[1] == "raw text")
    print(f"\nmedian of {args.repeat} loads from file://, ms from navigation start\n")
    print(f"{'page':34} {'math':9} {'first paint':>12} {'ready':>8} {'formulas':>9} {'vs raw':>7}")
    for label, mode, fcp, ready, formulas in rows:
        ratio = f"{ready / raw_ready:.2f}x" if label.startswith("run") else ""
        print(f"{label:34} {mode:9} {fcp:12.0f} {ready:8.0f} {formulas:9d} {ratio:>7}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
