"""`level` on the sample line (MATH's "Level N"), in to_pandas(), and None for old runs."""

from __future__ import annotations

import json
from pathlib import Path

import mwpbench

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "datasets" / "math" / "test.jsonl"


def _native_math_run(tmp_path: Path) -> mwpbench.RunResult:
    return mwpbench.evaluate("m", backend="mock", tasks="math", source="native",
                             data_files=str(FIXTURE), output=tmp_path, progress=False, jobs=1)  # fmt: skip


def test_sample_lines_carry_the_problems_level(tmp_path):
    result = _native_math_run(tmp_path)
    lines = [json.loads(x) for x in (result.path / "samples.jsonl").read_text().splitlines()]
    wanted = {}
    for i, line in enumerate(FIXTURE.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        wanted[str(record.get("idx", i))] = record["level"]
    assert lines and all(line["level"].startswith("Level ") for line in lines)
    assert {line["id"].rsplit("/", 1)[-1]: line["level"] for line in lines} == wanted
    frame = mwpbench.load_run(result.path).to_pandas()
    assert list(frame.columns[:4]) == ["id", "task", "subset", "level"]
    assert sorted(frame["level"]) == sorted(wanted.values())


def test_lines_from_before_the_level_read_as_none(tmp_path):
    result = _native_math_run(tmp_path)
    path = result.path / "samples.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    for line in lines[:2]:
        del line["level"]  # as an earlier mwpbench wrote them
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    frame = mwpbench.load_run(result.path).to_pandas()
    assert list(frame["level"][:2]) == [None, None]
    assert all(isinstance(v, str) for v in frame["level"][2:])
    for line in lines:
        line.pop("level", None)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert list(mwpbench.load_run(result.path).to_pandas()["level"]) == [None] * len(lines)
