"""results/ -> a static HTML leaderboard: index.html, one page per run, a sample browser.

`table.py` builds the table (rows, comparable sections, best cells) from runs read through
`mwpbench.results`; `site.py` renders it (Jinja2 pages, the sample browser's data files).
"""

from __future__ import annotations

from mwpbench.leaderboard.site import build_leaderboard, default_out_dir, render_site
from mwpbench.leaderboard.table import Leaderboard, collect

__all__ = ["Leaderboard", "build_leaderboard", "collect", "default_out_dir", "render_site"]
