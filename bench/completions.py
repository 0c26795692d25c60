"""Agreement with the hand-written completion table, per style, against peers in the same run.

Every row of tests/grading/completions.jsonl is a whole model-style completion, a gold answer
and the verdict a person gives (`correct`). This prints, for mwpbench strict, the official
MWPBench matcher and Math-Verify (when installed), how often each agrees with that verdict,
overall and per `style`, with false positives (graded correct, truly wrong) and false
negatives. `--src DIR` grades with the mwpbench package found in DIR instead of this
checkout (e.g. an exported `main`, to measure a change's before and after).

    python bench/completions.py [--src DIR] [--table PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "grading" / "completions.jsonl"


def _judges() -> dict[str, Callable[[dict[str, Any]], bool]]:
    import mwpbench

    def strict(row: dict[str, Any]) -> bool:
        return mwpbench.grade(
            row["completion"], row["gold"], choices=row.get("choices"),
            finish_reason=row.get("finish_reason"),
        ).correct  # fmt: skip

    def official(row: dict[str, Any]) -> bool:
        return mwpbench.grade(
            row["completion"], row["gold"], grader="official", choices=row.get("choices"),
            finish_reason=row.get("finish_reason"),
        ).correct  # fmt: skip

    judges = {"mwpbench strict": strict, "official MWPBench": official}
    try:
        from math_verify import parse, verify
    except ImportError:
        return judges

    def math_verify(row: dict[str, Any]) -> bool:
        try:
            return bool(verify(parse(f"${row['gold']}$"), parse(row["completion"])))
        except Exception:
            return False

    judges["Math-Verify"] = math_verify
    return judges


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, help="folder holding the mwpbench package to measure")
    ap.add_argument("--table", type=Path, default=TABLE)
    args = ap.parse_args()
    sys.path.insert(0, str(args.src.resolve() if args.src else ROOT))
    rows = [json.loads(x) for x in args.table.read_text(encoding="utf-8").splitlines() if x.strip()]
    styles = sorted({r["style"] for r in rows})
    print(f"{len(rows)} rows, {len({r['completion'] for r in rows})} completions, {args.table}")
    for name, judge in _judges().items():
        stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, agree, fp, fn
        for row in rows:
            got = judge(row)
            for key in (row["style"], "ALL"):
                s = stats[key]
                s[0] += 1
                s[1] += got == row["correct"]
                s[2] += got and not row["correct"]
                s[3] += row["correct"] and not got
        print(f"\n{name}\n{'style':<24}{'n':>5}{'agree':>8}{'FP':>5}{'FN':>5}")
        for key in [*styles, "ALL"]:
            n, agree, fp, fn = stats[key]
            print(f"{key:<24}{n:>5}{100 * agree / n:>7.1f}%{fp:>5}{fn:>5}")


if __name__ == "__main__":
    main()
