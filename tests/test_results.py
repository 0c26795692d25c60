"""The run directory: atomic writes, partial lines, load_run, regrade, merge, compare."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest
from _runs import GOLDEN_COMPLETIONS, ScriptedBackend, read_lines, write_release
from _runs import evaluate_golden as evaluate

import mwpbench
from mwpbench.errors import ConfigError, RunError
from mwpbench.results import (
    SampleWriter,
    read_samples,
    scan_samples,
    truncate_partial_line,
    write_json,
)
from mwpbench.runs import compare_runs, merge_runs
from mwpbench.types import RunRecord, SampleRecord

DOC = Path(__file__).resolve().parents[1] / "docs" / "run-format.md"

approx = pytest.approx


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "release.jsonl")




def line(key: str, **fields) -> str:
    """A minimal sample line (key, id, task) as text."""
    return json.dumps({"key": key, "id": key, "task": "t", **fields})


def test_partial_last_line_is_cut_and_ignored(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text(f'{line("a", x=1)}\n{line("b", x=2)}\n{{"key": "c", "x"')
    assert [r["key"] for r in read_samples(path)] == ["a", "b"]
    truncate_partial_line(path)
    assert path.read_text() == f'{line("a", x=1)}\n{line("b", x=2)}\n'
    truncate_partial_line(path)  # a complete file is left alone
    assert path.read_text().count("\n") == 2
    path.write_text(f'{line("a")}\nnot json\n{line("b")}\n')
    with pytest.raises(RunError, match=":2: not valid JSON"):
        read_samples(path)


def test_later_lines_replace_earlier_ones_with_the_same_key(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text(f'{line("a", status="error")}\n{line("a", status=None)}\n')
    assert read_samples(path) == [{"key": "a", "id": "a", "task": "t", "status": None}]


def test_atomic_rewrite_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    write_json(path, {"v": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(RunError, match="disk full"):
        write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # no temp file left


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_sample_writer_reports_a_real_enospc():
    writer = SampleWriter(Path("/dev/full"))
    with pytest.raises(RunError, match="disk full.*--resume"):
        writer.write([{"key": "a", "completion": "x" * 10000}])
    writer.close()  # the failed buffer is dropped quietly: write() reported it


def test_load_run_and_to_pandas(release, tmp_path):
    result = evaluate(release, tmp_path)
    loaded = mwpbench.load_run(result.path)
    assert isinstance(loaded, mwpbench.RunResult)
    assert loaded.metrics == result.metrics and loaded.samples == result.samples
    assert loaded.accuracy("math") == 0.5 and loaded.accuracy() == approx(4 / 7)
    assert "micro=0.5714" in repr(loaded)
    frame = loaded.to_pandas()
    assert len(frame) == 7
    assert list(frame.columns[:9]) == ["id", "task", "subset", "level", "sample_index", "gold",
                                       "extracted", "correct", "status"]  # fmt: skip
    assert frame["correct"].sum() == 4 and frame["official_correct"].sum() == 5
    assert frame.groupby("task")["correct"].mean()["math"] == 0.5
    with pytest.raises(RunError, match="not a run directory"):
        mwpbench.load_run(tmp_path)


def test_regrade_restores_tampered_verdicts_without_a_model(release, tmp_path):
    result = evaluate(release, tmp_path)
    path = result.path / "samples.jsonl"
    lines = read_lines(path)
    for line in lines:
        line.update(correct=False, status="incorrect", official_correct=False)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    again = mwpbench.regrade(result.path)
    assert again.samples == result.samples
    assert again.metrics == result.metrics
    run_json = json.loads((result.path / "run.json").read_text())
    assert "regraded_at" in run_json and run_json["metrics"] == result.metrics
    official_only = mwpbench.regrade(result.path, grader="official", headline="official")
    assert official_only.headline == "official" and official_only.accuracy() == approx(5 / 7)
    with pytest.raises(ConfigError):
        mwpbench.regrade(result.path, grader="lenient")


def test_merge_of_shards_equals_the_unsharded_run(release, tmp_path):
    whole = evaluate(release, tmp_path / "whole")
    shards = [evaluate(release, tmp_path / "shards", num_shards=2, shard_index=i) for i in (0, 1)]
    assert sum(len(s.samples) for s in shards) == 7
    assert {s["key"] for s in shards[0].samples}.isdisjoint(s["key"] for s in shards[1].samples)
    assert shards[0].run["shard"] == {"num_shards": 2, "shard_index": 0}
    merged = merge_runs([s.path for s in reversed(shards)], tmp_path / "merged", run_id="all")
    assert merged.status == "complete" and merged.run["shard"] is None
    assert (merged.path / "samples.jsonl").read_text() == (whole.path / "samples.jsonl").read_text()
    assert merged.metrics == whole.metrics
    assert [t["n"] for t in merged.run["tasks"]] == [3, 4]
    partial = merge_runs([shards[0].path], tmp_path / "merged", run_id="half")
    assert partial.status == "incomplete"
    other = evaluate(release, tmp_path / "other", max_tokens=10)
    with pytest.raises(ConfigError, match="different configuration"):
        merge_runs([shards[0].path, other.path], tmp_path / "merged")


def test_compare_runs(release, tmp_path):
    a = evaluate(release, tmp_path / "a")
    b = evaluate(release, tmp_path / "b", backend="mock")  # mock: every answer right
    cmp = compare_runs(a.path, b.path)
    math_ = cmp["datasets"]["math"]
    # A: alg/1 and geo/2 right of 4; B: all 4 right -> 2 discordant pairs, p = 2 / 2^2 = 0.5
    assert (math_["n"], math_["accuracy_a"], math_["accuracy_b"]) == (4, 0.5, 1.0)
    assert (math_["a_only"], math_["b_only"], math_["p_value"]) == (0, 2, 0.5)
    assert {f["id"] for f in math_["flipped"]} == {"math/mwpbench/MATH/alg/2",
                                                   "math/mwpbench/MATH/geo/1"}  # fmt: skip
    assert cmp["micro"]["delta"] == approx(3 / 7)
    # gsm8k: only gsm8k/2 differs (wrong in A, right in B)
    assert cmp["datasets"]["gsm8k"]["b_only"] == 1
    assert cmp["run_a"] == a.run_id and cmp["grader"] == "strict"


def test_golds_the_official_strip_cannot_read_are_counted(tmp_path):
    """OFFICIAL_GRADER.md step 2: the official driver crashes on such a gold; we grade it by
    raw equality and count it in run.json (a gold ending in a bare \\sqrt makes strip raise)."""
    from mwpbench.grading.official import GOLD_FALLBACK_DETAIL
    from mwpbench.runs import grade_samples

    records = [
        {"key": "a", "id": "a", "task": "math", "subset": "MATH.Algebra", "sample_index": 0,
         "completion": r"so $\boxed{3}$", "finish_reason": "stop", "gold": "3", "error": None},
        {"key": "b", "id": "b", "task": "math", "subset": "MATH.Algebra", "sample_index": 0,
         "completion": "I think it is 2", "finish_reason": "stop", "gold": r"2\sqrt", "error": None},
    ]  # fmt: skip
    graded = grade_samples(records, jobs=1)
    assert [r["official_detail"] for r in graded] == [None, GOLD_FALLBACK_DETAIL]
    from mwpbench.results import finalize_metrics

    run = {"tasks": [{"name": "math"}]}
    finalize_metrics(run, graded)
    assert run["counts"]["official_gold_fallbacks"] == 1


def test_model_text_with_lone_surrogates_is_stored_exactly(tmp_path):
    """A replayed completion may hold "\\ud800" (valid JSON, not encodable as UTF-8): the
    line is written with ASCII escapes and reads back to the same string."""
    path = tmp_path / "samples.jsonl"
    weird = "The answer is 2 \ud800 and caf\u00e9"
    writer = SampleWriter(path)
    writer.write([{"key": "a", "id": "a", "task": "t", "completion": weird},
                  {"key": "b", "id": "b", "task": "t", "completion": "caf\u00e9"}])  # fmt: skip
    writer.close()
    assert [r["completion"] for r in read_samples(path)] == [weird, "caf\u00e9"]
    assert "café" in path.read_text(encoding="utf-8")  # plain lines stay readable
    write_json(tmp_path / "run.json", {"note": weird})
    assert json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["note"] == weird


def _keys(typed: type) -> tuple[frozenset[str], frozenset[str]]:
    return typed.__required_keys__, typed.__required_keys__ | typed.__optional_keys__  # type: ignore[attr-defined]


def test_written_records_match_their_types_and_the_document(release, tmp_path):
    result = evaluate(release, tmp_path)
    required, allowed = _keys(SampleRecord)
    lines = read_lines(result.path / "samples.jsonl")
    for line in lines:
        assert required <= set(line) <= allowed, set(line) ^ required
    run_required, run_allowed = _keys(RunRecord)
    run_json = json.loads((result.path / "run.json").read_text())
    assert run_required <= set(run_json) <= run_allowed
    # docs/run-format.md names every field of both records
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r'"(\w+)":', doc)) | set(re.findall(r"`(\w+)`", doc))
    assert allowed - documented == set() and run_allowed - documented == set()


def test_run_json_is_checked_and_completed_when_read(tmp_path):
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "run.json").write_text("[]")
    with pytest.raises(RunError, match="expected a JSON object"):
        mwpbench.load_run(tmp_path / "list")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text('{"schema_version": 1, "run_id": "old"}')
    run = mwpbench.load_run(tmp_path / "old").run
    assert run["limit_per_task"] is None and run["official_mode"] is False
    assert run["metrics"] is None and run["counts"] == {}


def test_scan_reports_bad_lines_instead_of_raising(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_bytes(f'{line("a")}\nnot json\n{{"key": ["list"]}}\n'.encode()
                     + b'\xff\xfe\n' + f'{line("b")}\n{{"key"'.encode())  # fmt: skip
    records, bad = scan_samples(path)
    assert [r["key"] for r in records] == ["a", "b"]
    assert [(b.number, b.cut_off) for b in bad] == [(2, False), (3, False), (4, False), (6, True)]
    assert "UTF-8" in bad[2].reason
    with pytest.raises(RunError, match=":2: not valid JSON"):
        read_samples(path)


def test_a_grading_failure_is_regraded_a_generation_failure_is_not(release, tmp_path):
    result = evaluate(release, tmp_path, backend=ScriptedBackend(GOLDEN_COMPLETIONS))
    path = result.path / "samples.jsonl"
    lines = read_lines(path)
    failed = next(line for line in lines if line["error"] is not None)  # gsm8k/3: no completion
    hit = next(line for line in lines if line["id"] == "math/mwpbench/MATH/alg/1")
    hit.update(correct=False, status="error", detail="internal grading error")  # error: null
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    again = mwpbench.regrade(result.path)
    by_id = {s["id"]: s for s in again.samples}
    assert by_id[hit["id"]]["status"] == "correct" and by_id[hit["id"]]["correct"] is True
    assert by_id[failed["id"]]["status"] == "error" and by_id[failed["id"]]["error"]
    assert again.run["counts"]["generation_errors"] == 1
