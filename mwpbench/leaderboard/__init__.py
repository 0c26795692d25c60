"""results/ -> a static HTML leaderboard: index.html, one page per run, a sample browser.

`table.py` builds the table (rows, comparable sections, best cells) from runs read through
`mwpbench.results` and the published rows (shipped in `reported/`, added to from
`RESULTS_DIR/reported/`); `site.py` renders it (Jinja2 pages), `browser.py` writes the
sample browser's data files, `folder.py` owns the output folder (marker, build aside, swap),
`numbers.py` holds the one rounding rule (shared with static/fmt.js).
"""

from __future__ import annotations

from mwpbench.leaderboard.site import build_leaderboard, default_out_dir, render_site
from mwpbench.leaderboard.table import Leaderboard, collect

__all__ = ["Leaderboard", "build_leaderboard", "collect", "default_out_dir", "render_site"]
